# Sourced by bench/http_bench.sh and bench/http_profile.sh (needs $tmp, a 0700 folder, and
# the repository root as the current folder). Starts nginx answering every request with
# bench/http_reply.json on a free loopback port; sets $port and $ng_pid (the callers' EXIT trap
# kills it).
# nginx: one process (master_process off, so it runs as the invoking user and reads this
# 0700 folder), on a free loopback port
start_nginx() {
  port=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  mkdir -p "$tmp/ng/tmp"
  cat > "$tmp/ng/nginx.conf" <<EOF
master_process off;
daemon off;
worker_processes 1;
error_log $tmp/ng/error.log warn;
pid $tmp/ng/nginx.pid;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $tmp/ng/tmp;
  proxy_temp_path $tmp/ng/tmp;
  fastcgi_temp_path $tmp/ng/tmp;
  uwsgi_temp_path $tmp/ng/tmp;
  scgi_temp_path $tmp/ng/tmp;
  keepalive_requests 100000000;
  keepalive_timeout 300s;
  server {
    listen 127.0.0.1:$port;
    location / {
      default_type application/json;
      add_header x-amzn-RequestId 7d4f1a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b;
      return 200 '$(cat bench/http_reply.json)';
    }
  }
}
EOF
  nginx -p "$tmp/ng" -c "$tmp/ng/nginx.conf" 2>>"$tmp/ng/error.log" &
  ng_pid=$!
  i=0
  while [ $i -lt 50 ]; do
    sleep 0.1
    curl -sf -o /dev/null "http://127.0.0.1:$port/" && return 0
    kill -0 "$ng_pid" 2>/dev/null || break
    i=$((i + 1))
  done
  kill "$ng_pid" 2>/dev/null
  ng_pid=""
  return 1
}
tries=0
until start_nginx; do
  tries=$((tries + 1))
  [ $tries -lt 3 ] || { echo "nginx did not start:" >&2; cat "$tmp/ng/error.log" >&2; exit 1; }
done
