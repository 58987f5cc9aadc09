# Sourced by ./test: a local PostgreSQL cluster (Debian's) with a kvmweb role that may create
# the test database. Sets KVMWEB_PG_URL.
kvmweb_postgres_up() {
  local version cluster_port
  version=$(ls /usr/lib/postgresql | sort -n | tail -1)
  if ! pg_lsclusters -h | grep -q "^$version main"; then
    pg_createcluster "$version" main >/dev/null
  fi
  if ! pg_lsclusters -h | grep -q "^$version main .* online"; then
    pg_ctlcluster "$version" main start
  fi
  cluster_port=$(pg_lsclusters -h | awk -v v="$version" '$1==v && $2=="main" {print $3}')
  local password_file=${KVMWEB_STATE_DIR}/pg-password
  if [ ! -f "$password_file" ]; then
    head -c 18 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' > "$password_file"
    chmod 600 "$password_file"
  fi
  local password
  password=$(cat "$password_file")
  runuser -u postgres -- psql -p "$cluster_port" -q -v ON_ERROR_STOP=1 -v pw="$password" <<'SQL'
SELECT 'CREATE ROLE kvmweb LOGIN CREATEDB' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'kvmweb')\gexec
ALTER ROLE kvmweb PASSWORD :'pw';
SELECT 'CREATE DATABASE kvmweb OWNER kvmweb' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'kvmweb')\gexec
SQL
  export KVMWEB_PG_URL="postgres://kvmweb:${password}@127.0.0.1:${cluster_port}/kvmweb"
}
