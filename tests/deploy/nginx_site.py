"""The shipped nginx site (deploy/nginx/kvmweb.conf) made runnable here: its certificate,
ports, upstream servers and static directory replaced by a test's, inside a minimal
nginx.conf that runs with `-p <dir>` as an unprivileged foreground process.

Used by tests/deploy/test_nginx.py (nginx -t), tests/scaleout/ and bench/scaleout_bench.py.
Every replacement must match the shipped file exactly once, so a renamed directive fails loudly
instead of testing a file nobody ships.
"""

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
SITE = ROOT / "deploy" / "nginx" / "kvmweb.conf"
NGINX = "/usr/sbin/nginx"


def self_signed_cert(directory):
    """A throw-away self-signed certificate for 127.0.0.1 / localhost."""
    directory = Path(directory)
    crt, key = directory / "kvmweb.crt", directory / "kvmweb.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
         "-keyout", str(key), "-out", str(crt)],
        check=True, capture_output=True,
    )
    return crt, key


def _replace_once(text, old, new):
    count = text.count(old)
    if count != 1:
        raise AssertionError(f"{SITE.name}: expected {old!r} once, found it {count} times")
    return text.replace(old, new)


def render_site(crt, key, http_port, https_port, web_ports, static_dir, site_text=None):
    """The shipped site with this machine's test values in place of the production ones."""
    text = SITE.read_text() if site_text is None else site_text
    text = _replace_once(text, "/etc/kvmweb/tls/kvmweb.crt;", f"{crt};")
    text = _replace_once(text, "/etc/kvmweb/tls/kvmweb.key;", f"{key};")
    text = _replace_once(text, "listen 80;", f"listen 127.0.0.1:{http_port};")
    text = _replace_once(text, "listen [::]:80;\n", "")
    text = _replace_once(text, "listen 443 ssl http2;", f"listen 127.0.0.1:{https_port} ssl http2;")
    text = _replace_once(text, "listen [::]:443 ssl http2;\n", "")
    text = _replace_once(text, "alias /var/lib/kvmweb/static/;", f"alias {static_dir}/;")
    # Both upstreams list the production ports; each line appears twice (web and console).
    servers = "".join(f"    server 127.0.0.1:{p} max_fails=1 fail_timeout=5s;\n" for p in web_ports)
    shipped = ("    server 127.0.0.1:8001 max_fails=1 fail_timeout=5s;\n"
               "    server 127.0.0.1:8002 max_fails=1 fail_timeout=5s;\n")
    if text.count(shipped) != 2:
        raise AssertionError(f"{SITE.name}: expected the two upstreams to list 8001 and 8002")
    return text.replace(shipped, servers)


def write_conf(directory, site_text):
    """A minimal nginx.conf in ``directory`` that includes ``site_text`` (written as
    kvmweb.conf beside it) inside http {}, like Debian's nginx.conf includes sites-enabled."""
    directory = Path(directory)
    (directory / "logs").mkdir(parents=True, exist_ok=True)
    (directory / "kvmweb.conf").write_text(site_text)
    conf = directory / "nginx.conf"
    # pytest's temp dirs are private (0700): as root, workers must not drop to "nobody" to read
    # the static files there.
    user = "user root;\n" if os.geteuid() == 0 else ""
    conf.write_text(f"""\
{user}worker_processes 1;
pid {directory}/nginx.pid;
error_log {directory}/logs/error.log info;
events {{ worker_connections 256; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log {directory}/logs/access.log;
    client_body_temp_path {directory}/client_body;
    proxy_temp_path {directory}/proxy;
    fastcgi_temp_path {directory}/fastcgi;
    uwsgi_temp_path {directory}/uwsgi;
    scgi_temp_path {directory}/scgi;
    include {directory}/kvmweb.conf;
}}
""")
    return conf


def nginx_test(directory, conf):
    """`nginx -t` on ``conf``: (returncode, output)."""
    proc = subprocess.run([NGINX, "-t", "-p", str(directory), "-e", f"{directory}/logs/error.log",
                           "-c", str(conf)], capture_output=True, text=True)
    return proc.returncode, proc.stdout + proc.stderr
