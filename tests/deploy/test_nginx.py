"""`nginx -t` on the shipped site (deploy/nginx/kvmweb.conf) with a throw-away certificate.
nginx comes with scripts/install.sh, which ./test runs: no skip when it is missing."""

from tests.deploy.nginx_site import SITE, nginx_test, render_site, self_signed_cert, write_conf


def _conf(tmp_path, site_text=None):
    crt, key = self_signed_cert(tmp_path)
    site = render_site(crt, key, 18080, 18443, [18001, 18002], tmp_path / "static", site_text)
    return write_conf(tmp_path / "nginx", site)


def test_it_accepts_the_shipped_site(tmp_path):
    conf = _conf(tmp_path)
    rc, out = nginx_test(tmp_path / "nginx", conf)
    assert rc == 0, out
    assert "syntax is ok" in out and "test is successful" in out


def test_it_routes_consoles_sticky_and_upgrades_websockets():
    site = SITE.read_text()
    # Consoles by VM id on a consistent hash; /ws/ as websocket; HTTP sent to HTTPS.
    assert "hash $kvmweb_console_vm consistent;" in site
    assert "~^/ws/console/(?<vm>[0-9]+)/" in site
    assert site.count("proxy_set_header Upgrade $http_upgrade;") == 2
    assert "return 301 https://$host$request_uri;" in site


def test_it_fails_on_a_broken_site(tmp_path):
    broken = SITE.read_text().replace("proxy_pass http://kvmweb_console;",
                                      "proxy_pass http://kvmweb_console")
    conf = _conf(tmp_path, broken)
    rc, out = nginx_test(tmp_path / "nginx", conf)
    assert rc != 0 and "emerg" in out, out


def test_it_fails_on_a_missing_certificate(tmp_path):
    conf = _conf(tmp_path)
    (tmp_path / "kvmweb.key").unlink()
    rc, out = nginx_test(tmp_path / "nginx", conf)
    assert rc != 0 and "kvmweb.key" in out, out
