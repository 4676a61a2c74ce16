#!/usr/bin/env bash
# Benchmark (issue 21): many small files through Ferry against the peers on the same machine,
# the same clients, one run, as ratios of files per second (Ferry / peer):
#   - sftp:  OpenSSH `sftp` `put -r` and `get -r` of N files of 4 KiB against sshd +
#            sftp-server (goal >= 1.0 each);
#   - http:  N `PUT`s of 4 KiB on one connection (curl), and 16 clients x N/16 at once, against
#            nginx's WebDAV `PUT` (goal >= 1.0); the N files downloaded on one connection
#            against nginx serving them (goal >= 0.8);
#   - ftps:  `lftp` `mirror -R` and `mirror` of the same tree against vsftpd (goal >= 1.0 each);
#   - many:  64 OpenSSH `sftp` clients at once, each `put -r` of 100 files of 4 KiB, against
#            sshd + sftp-server: aggregate files per second (goal >= 1.0), and the p99 of
#            Ferry's time per file (`ferry_sftp_upload_seconds` in its /metrics).
# Ferry runs on its embedded defaults (SQLite, content on the local disk), so every file it
# acknowledges is durable; the peers sync nothing.
#
#   bench/small_files.sh [--files N] [--runs N] [--parts sftp,http,ftps,many]
#
# Each figure is timed --runs times (default 3), Ferry and the peer taking turns (which goes
# first alternates), and the median counts. `sync` runs before each, untimed, so that no
# side pays for the other's unsynced writes. FERRY_BIN for another build. Needs root (sshd,
# vsftpd's system user).
set -euo pipefail
cd "$(dirname "$0")/.."

files=1000
runs=3
parts=sftp,http,ftps,many
while (($#)); do
  case "$1" in
    --files) files=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --parts) parts=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
want() { [[ ",$parts," == *",$1,"* ]]; }

install() { # command, Debian package
  command -v "$1" >/dev/null || [ -x "/usr/sbin/$1" ] ||
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null; }
}
install sshd openssh-server
install nginx nginx
install lftp lftp
install vsftpd vsftpd
ferry_bin=${FERRY_BIN:-target/release/ferry}
[ -n "${FERRY_BIN:-}" ] || cargo build --release -p ferry -q

work=$(mktemp -d /var/tmp/ferry-small-bench.XXXXXX)
chmod 755 "$work"
bench_user=ferrybench
bench_password=bench-password-$$
cleanup() {
  [ -n "${ferry_pid:-}" ] && kill "$ferry_pid" 2>/dev/null
  [ -f "$work/sshd.pid" ] && kill "$(cat "$work/sshd.pid")" 2>/dev/null
  [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null
  [ -n "${vsftpd_pid:-}" ] && kill "$vsftpd_pid" 2>/dev/null
  wait 2>/dev/null
  userdel "$bench_user" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
median() { python3 -c "import statistics, sys; print(statistics.median(float(x) for x in sys.argv[1:]))" "$@"; }
rate() { python3 -c "print(f'{$files / $1:.0f}')"; }
ratio() { python3 -c "print(f'{$1 / $2:.2f}')"; }
timed() { # wall time of a command, after an untimed sync
  local s e
  sync
  s=$(date +%s.%N); "$@"; e=$(date +%s.%N)
  python3 -c "print($e - $s)"
}
# both CLEAN_A RUN_A CLEAN_B RUN_B: medians of A and B over $runs alternating rounds; each
# CLEAN function (untimed) puts its side back where a round starts.
both() {
  local a=() b=() i
  for i in $(seq "$runs"); do
    if ((i % 2)); then "$1"; a+=("$(timed "$2")"); "$3"; b+=("$(timed "$4")")
    else "$3"; b+=("$(timed "$4")"); "$1"; a+=("$(timed "$2")"); fi
  done
  echo "$(median "${a[@]}") $(median "${b[@]}")"
}
report() { # what, peer name, peer seconds, Ferry seconds, goal
  echo "$1: $2 $(rate "$3") files/s, Ferry $(rate "$4") files/s, ratio $(ratio "$3" "$4") (goal >= $5)"
}

echo "preparing $files files of 4 KiB" >&2
mkdir -p "$work/tree"
for i in $(seq "$files"); do head -c 4096 /dev/urandom > "$work/tree/f$i.bin"; done
tree_sum() { (cd "$1" && find . -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum); }
want_sum=$(tree_sum "$work/tree")
check_tree() { # directory, who
  [ "$(tree_sum "$1")" == "$want_sum" ] || { echo "$2 returned different files" >&2; exit 1; }
}

# The OS user vsftpd signs in, and Ferry's user of the same name: sshd and Ferry's SFTP take
# the same key for it.
userdel "$bench_user" 2>/dev/null || true  # left over from an interrupted run
mkdir -p "$work/home"
useradd -d "$work/home" -s /bin/bash "$bench_user"
echo "$bench_user:$bench_password" | chpasswd
chown "$bench_user" "$work/home"
ssh-keygen -q -t ed25519 -N "" -f "$work/client_key"
ssh-keygen -q -t ed25519 -N "" -f "$work/sshd_host_key"

ferry_sftp=$(free_port)
ferry_ftps=$(free_port)
printf '[lockout]\naccount_threshold = 0\naddress_threshold = 0\n[sftp]\nlisten = "127.0.0.1:%s"\nmax_connections_per_ip = 1000\nmax_connections_per_user = 1000\n[ftps]\nlisten = "127.0.0.1:%s"\npassive_ports = "53000-53999"\nmax_connections_per_ip = 1000\nmax_connections_per_user = 1000\n' \
  "$ferry_sftp" "$ferry_ftps" > "$work/ferry.toml"
FERRY_ADMIN_PASSWORD=bench-admin-password FERRY_LOG=warn \
  "$ferry_bin" --config "$work/ferry.toml" --data-dir "$work/ferry" serve --http 127.0.0.1:0 \
  > "$work/ferry.out" 2> "$work/ferry.err" &
ferry_pid=$!
for _ in $(seq 100); do grep -q listening "$work/ferry.out" 2>/dev/null && break; sleep 0.1; done
base=$(sed -n 's/^ferry: listening on //p' "$work/ferry.out")
ferry() { "$ferry_bin" --config "$work/ferry.toml" --data-dir "$work/ferry" "$@"; }
echo "$bench_password" | ferry user add "$bench_user" --role member --password-stdin >/dev/null
ferry user add-key "$bench_user" --key-file "$work/client_key.pub" >/dev/null
ferry app add 1000 bench >/dev/null
api() { curl -sf -X POST "$base/api/v1/$1" -d "$2"; }
json() { python3 -c "import json,sys; print(json.load(sys.stdin)[\"$1\"])"; }
session=$(api OpenImmutable "{\"userName\":\"$bench_user\",\"password\":\"$bench_password\",\"applicationID\":1000}" | json SessionID)
home=$(api GetHomeFolder "{\"sessionID\":\"$session\"}" | json FolderID)
# Ferry's folders are emptied between rounds by deleting them (and made again when needed).
folder_id() { # name: the ID of the home folder's subfolder of that name, or nothing
  api GetFolders "{\"sessionID\":\"$session\",\"folderID\":$home}" |
    python3 -c "import json,sys; print(next((str(f['FolderID']) for f in json.load(sys.stdin) if f['Name'] == '$1'), ''))"
}
drop_folder() { # name
  local id
  id=$(folder_id "$1")
  [ -z "$id" ] || api DeleteFolder "{\"sessionID\":\"$session\",\"folderID\":$id}" >/dev/null
}
fresh_folder() { # name: its new ID
  drop_folder "$1"
  api CreateFolder "{\"sessionID\":\"$session\",\"parentFolderID\":$home,\"name\":\"$1\"}" | json FolderID
}

if want sftp || want many; then
  sshd_port=$(free_port)
  cp "$work/client_key.pub" "$work/authorized_keys"
  cat > "$work/sshd_config" <<CONF
Port $sshd_port
ListenAddress 127.0.0.1
HostKey $work/sshd_host_key
PidFile $work/sshd.pid
AuthorizedKeysFile $work/authorized_keys
StrictModes no
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
MaxStartups 1000
MaxSessions 1000
Subsystem sftp /usr/lib/openssh/sftp-server
CONF
  mkdir -p /run/sshd
  /usr/sbin/sshd -f "$work/sshd_config"
  sftp_run() { # port, batch text
    printf '%b' "$2" > "$work/batch"
    sftp -q -b "$work/batch" -i "$work/client_key" -P "$1" -c aes128-gcm@openssh.com \
      -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o IdentitiesOnly=yes \
      -o LogLevel=ERROR "$bench_user@127.0.0.1" >/dev/null ||
      { echo "sftp to port $1 failed: $2" >&2; cat "$work/ferry.err" >&2; exit 1; }
  }
  clean_sshd_up() { rm -rf "$work/home/up"; }
  clean_ferry_up() { drop_folder up; }
fi

if want sftp; then
  put_sshd() { sftp_run "$sshd_port" "put -r $work/tree $work/home/up\n"; }
  put_ferry() { sftp_run "$ferry_sftp" "put -r $work/tree /Home/$bench_user/up\n"; }
  chown -R "$bench_user" "$work/home"
  read -r up_sshd up_ferry < <(both clean_sshd_up put_sshd clean_ferry_up put_ferry)
  clean_down() { rm -rf "$work/down-sshd" "$work/down-ferry"; }
  get_sshd() { sftp_run "$sshd_port" "get -r $work/home/up $work/down-sshd\n"; }
  get_ferry() { sftp_run "$ferry_sftp" "get -r /Home/$bench_user/up $work/down-ferry\n"; }
  read -r down_sshd down_ferry < <(both clean_down get_sshd clean_down get_ferry)
  clean_down; get_ferry; check_tree "$work/down-ferry" "Ferry's SFTP"
  clean_down; get_sshd; check_tree "$work/down-sshd" "sshd"
  report "sftp put -r $files x 4 KiB" OpenSSH "$up_sshd" "$up_ferry" 1.0
  report "sftp get -r $files x 4 KiB" OpenSSH "$down_sshd" "$down_ferry" 1.0
fi

if want http; then
  nginx_port=$(free_port)
  mkdir -p "$work/www/dav" "$work/nginx-tmp"
  cat > "$work/nginx.conf" <<NGINX
user root;
worker_processes 2;
pid $work/nginx.pid;
error_log $work/nginx-error.log;
daemon on;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  keepalive_requests 100000;
  client_max_body_size 0;
  client_body_temp_path $work/nginx-tmp;
  server {
    listen 127.0.0.1:$nginx_port;
    root $work/www;
    location /dav/ { dav_methods PUT; create_full_put_path on; }
  }
}
NGINX
  nginx -c "$work/nginx.conf"
  # One curl per client: its config names every transfer, and curl keeps one connection for
  # them all. Client C of CLIENTS takes the files numbered C, C + CLIENTS, ...
  curl_config() { # put|get, URL prefix, client, clients, extra header or ""
    local i
    for ((i = $3 + 1; i <= files; i += $4)); do
      if [ "$1" == put ]; then echo "upload-file = \"$work/tree/f$i.bin\""; echo "output = \"/dev/null\""
      else echo "output = \"$work/down/f$i.bin\""; fi
      echo "url = \"$2/f$i.bin\""
    done
    [ -z "$5" ] || echo "header = \"$5\""
  }
  curl_clients() { # put|get, URL prefix, clients, header
    local c pids=()
    for ((c = 0; c < $3; c++)); do curl_config "$1" "$2" "$c" "$3" "$4" > "$work/curl-$c.conf"; done
    for ((c = 0; c < $3; c++)); do curl -sS --fail -K "$work/curl-$c.conf" & pids+=($!); done
    for c in "${pids[@]}"; do wait "$c" || { echo "a curl client failed" >&2; exit 1; }; done
  }
  up_folder=
  clean_nginx() { rm -rf "$work/www/dav/up"; mkdir -p "$work/www/dav/up"; }
  clean_ferry() { up_folder=$(fresh_folder up-http); }
  put_nginx_1() { curl_clients put "http://127.0.0.1:$nginx_port/dav/up" 1 ""; }
  put_ferry_1() { curl_clients put "$base/api/v1/folders/$up_folder/files" 1 "X-Session-ID: $session"; }
  put_nginx_16() { curl_clients put "http://127.0.0.1:$nginx_port/dav/up" 16 ""; }
  put_ferry_16() { curl_clients put "$base/api/v1/folders/$up_folder/files" 16 "X-Session-ID: $session"; }
  read -r put1_nginx put1_ferry < <(both clean_nginx put_nginx_1 clean_ferry put_ferry_1)
  read -r put16_nginx put16_ferry < <(both clean_nginx put_nginx_16 clean_ferry put_ferry_16)
  check_tree "$work/www/dav/up" nginx
  # Ferry's downloads go by file ID: its curl configuration names each file's URL.
  up_folder=$(folder_id up-http)
  ids=$(for ((skip = 0; skip < files; skip += 1000)); do
    api GetFiles "{\"sessionID\":\"$session\",\"folderID\":$up_folder,\"skip\":$skip,\"take\":1000}" |
      python3 -c "import json,sys; [print(f['FileID'], f['Name']) for f in json.load(sys.stdin)]"
  done)
  [ "$(wc -l <<< "$ids")" -eq "$files" ] || { echo "Ferry lists $(wc -l <<< "$ids") files, not $files" >&2; exit 1; }
  get_config_ferry() {
    while read -r id name; do
      echo "output = \"$work/down/$name\""; echo "url = \"$base/api/v1/files/$id/content\""
    done <<< "$ids"
    echo "header = \"X-Session-ID: $session\""
  }
  get_config_ferry > "$work/get-ferry.conf"
  curl_config get "http://127.0.0.1:$nginx_port/dav/up" 0 1 "" > "$work/get-nginx.conf"
  clean_down() { rm -rf "$work/down"; mkdir -p "$work/down"; }
  get_nginx() { curl -sS --fail -K "$work/get-nginx.conf"; }
  get_ferry() { curl -sS --fail -K "$work/get-ferry.conf"; }
  read -r get_nginx_s get_ferry_s < <(both clean_down get_nginx clean_down get_ferry)
  clean_down; get_ferry; check_tree "$work/down" "Ferry's HTTP"
  # 16 clients downloading at once, client C taking every 16th file from the C-th, as the
  # uploads did: each download's record commits before its first byte on both sides' terms.
  for ((c = 0; c < 16; c++)); do
    get_config_ferry | awk -v c="$c" '
      /^header/ { print; next }
      /^output/ { n++; keep = ((n - 1) % 16 == c) }
      keep' > "$work/get-ferry-$c.conf"
  done
  get_clients() { # ferry|nginx
    local c pids=()
    for ((c = 0; c < 16; c++)); do
      if [ "$1" == ferry ]; then curl -sS --fail -K "$work/get-ferry-$c.conf" & pids+=($!)
      else curl_config get "http://127.0.0.1:$nginx_port/dav/up" "$c" 16 "" > "$work/get-nginx-$c.conf"
        curl -sS --fail -K "$work/get-nginx-$c.conf" & pids+=($!); fi
    done
    for c in "${pids[@]}"; do wait "$c" || { echo "a curl client failed" >&2; exit 1; }; done
  }
  get_nginx_16() { get_clients nginx; }
  get_ferry_16() { get_clients ferry; }
  read -r get16_nginx get16_ferry < <(both clean_down get_nginx_16 clean_down get_ferry_16)
  clean_down; get_ferry_16; check_tree "$work/down" "Ferry's HTTP, 16 clients"
  report "HTTP PUT $files x 4 KiB, one connection" nginx "$put1_nginx" "$put1_ferry" 1.0
  report "HTTP PUT $files x 4 KiB, 16 clients at once" nginx "$put16_nginx" "$put16_ferry" 1.0
  report "HTTP GET $files x 4 KiB, one connection" nginx "$get_nginx_s" "$get_ferry_s" 0.8
  report "HTTP GET $files x 4 KiB, 16 clients at once" nginx "$get16_nginx" "$get16_ferry" 0.8
fi

if want ftps; then
  mkdir -p "$work/vsftpd-empty"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
    -subj /CN=127.0.0.1 -keyout "$work/vsftpd.key" -out "$work/vsftpd.pem" 2>/dev/null
  vsftpd_port=$(free_port)
  cat > "$work/vsftpd.conf" <<CONF
listen=YES
listen_address=127.0.0.1
listen_port=$vsftpd_port
background=NO
anonymous_enable=NO
local_enable=YES
write_enable=YES
local_umask=022
pam_service_name=vsftpd
secure_chroot_dir=$work/vsftpd-empty
seccomp_sandbox=NO
ssl_enable=YES
allow_anon_ssl=NO
force_local_logins_ssl=YES
force_local_data_ssl=YES
require_ssl_reuse=NO
rsa_cert_file=$work/vsftpd.pem
rsa_private_key_file=$work/vsftpd.key
pasv_enable=YES
pasv_min_port=52000
pasv_max_port=52999
max_clients=1000
max_per_ip=1000
xferlog_enable=NO
CONF
  /usr/sbin/vsftpd "$work/vsftpd.conf" &
  vsftpd_pid=$!
  sleep 0.5
  lftp_run() { # port, commands
    lftp -u "$bench_user,$bench_password" -p "$1" \
      -e "set ftp:ssl-force true; set ftp:ssl-protect-data true; set ssl:verify-certificate no; set net:max-retries 1; $2; quit" \
      127.0.0.1 >/dev/null 2>"$work/lftp.err" ||
      { echo "lftp to port $1 failed: $2" >&2; cat "$work/lftp.err" "$work/ferry.err" >&2; exit 1; }
  }
  clean_vsftpd_up() { rm -rf "$work/home/up-ftp"; }
  clean_ferry_up() { drop_folder up-ftp; }
  mirror_up_vsftpd() { lftp_run "$vsftpd_port" "mirror -R $work/tree up-ftp"; }
  mirror_up_ferry() { lftp_run "$ferry_ftps" "mirror -R $work/tree /Home/$bench_user/up-ftp"; }
  read -r mup_vsftpd mup_ferry < <(both clean_vsftpd_up mirror_up_vsftpd clean_ferry_up mirror_up_ferry)
  clean_down() { rm -rf "$work/down-ftp"; }
  mirror_down_vsftpd() { lftp_run "$vsftpd_port" "mirror up-ftp $work/down-ftp"; }
  mirror_down_ferry() { lftp_run "$ferry_ftps" "mirror /Home/$bench_user/up-ftp $work/down-ftp"; }
  read -r mdown_vsftpd mdown_ferry < <(both clean_down mirror_down_vsftpd clean_down mirror_down_ferry)
  clean_down; mirror_down_ferry; check_tree "$work/down-ftp" "Ferry's FTPS"
  report "lftp mirror -R $files x 4 KiB" vsftpd "$mup_vsftpd" "$mup_ferry" 1.0
  report "lftp mirror $files x 4 KiB" vsftpd "$mdown_vsftpd" "$mdown_ferry" 1.0
fi

if want many; then
  mkdir -p "$work/tree100"
  for i in $(seq 100); do head -c 4096 /dev/urandom > "$work/tree100/f$i.bin"; done
  many_clients() { # port, destination prefix: 64 clients at once, each its own put -r
    local c pids=()
    for c in $(seq 64); do
      printf 'put -r %s %s%s\n' "$work/tree100" "$2" "$c" > "$work/batch-$c"
      sftp -q -b "$work/batch-$c" -i "$work/client_key" -P "$1" -c aes128-gcm@openssh.com \
        -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o IdentitiesOnly=yes \
        -o LogLevel=ERROR "$bench_user@127.0.0.1" >/dev/null & pids+=($!)
    done
    for c in "${pids[@]}"; do wait "$c" || { echo "an sftp client failed" >&2; exit 1; }; done
  }
  clean_sshd_many() { rm -rf "$work/home/many"; mkdir -p "$work/home/many"; chown "$bench_user" "$work/home/many"; }
  clean_ferry_many() { drop_folder many; fresh_folder many >/dev/null; }
  many_sshd() { many_clients "$sshd_port" "$work/home/many/c"; }
  many_ferry() { many_clients "$ferry_sftp" "/Home/$bench_user/many/c"; }
  read -r many_sshd_s many_ferry_s < <(both clean_sshd_many many_sshd clean_ferry_many many_ferry)
  # The server's own time per file (OPEN to CLOSE's answer), from its /metrics summary, which
  # covers the last minute: read at once, after the last round (Ferry's turn ends an odd round).
  p99=$(curl -sf "$base/metrics" | sed -n 's/^ferry_sftp_upload_seconds{quantile="0.99"} //p')
  files=6400 report "64 sftp clients x put -r 100 x 4 KiB at once" OpenSSH "$many_sshd_s" "$many_ferry_s" 1.0
  echo "  Ferry's p99 per file in the server over the last minute: $(python3 -c "print(f'{$p99 * 1000:.1f} ms')")"
fi
