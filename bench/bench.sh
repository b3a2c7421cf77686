#!/usr/bin/env bash
# make bench: pgca side by side with the openssl recipe of PostgreSQL's security guides
# (shared/seeds: `openssl req -new -x509` per CA, `openssl req -new` + `openssl x509 -req` per
# certificate), in one run, on this machine. Prints a markdown table.
#
#   N        certificates to issue with pgca in one call (default 10000)
#   SAMPLE   certificates the openssl recipe issues; its time is scaled to N (default 100)
#   CHECK_SIZES  inventory sizes for the check and per-certificate rows (default "1000 10000 100000")
#   ROUNDS   batches of 200 per size for the per-certificate row (default 7)
#   BENCH_DIR    where the work directory is made (default target/)
#   PROBES   throwaway PostgreSQL servers the probe rows start on loopback (default 20)
#
# Nothing is deleted until the end: on ext4 without a journal (this VM's root filesystem), inodes
# freed in the last minute are skipped one by one when new ones are allocated, which makes
# creating files several times slower for a while after a large `rm -rf` (docs/benchmarks.md).
# Each timed row starts after a `sync`, so that it does not pay for the previous row's writeback.
set -euo pipefail
pgca=${PGCA:-target/release/pgca}
N=${N:-10000}
SAMPLE=${SAMPLE:-100}
# The work directory is under target/, not /tmp: see the note above on freed inodes. On this VM
# /tmp is where the test suite creates and deletes hundreds of thousands of files, and issuing
# 10,000 certificates there right after such a deletion took 12-16 s instead of 2 s.
mkdir -p "${BENCH_DIR:-target}"
work=$(mktemp -d "$(cd "${BENCH_DIR:-target}" && pwd)/bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a > 0) printf "%.1f×", b / a; else print "-" }'; }

# The CA keys are encrypted by default; the issuing rows use unencrypted keys to measure issuing,
# and the key-derivation row below measures what encryption adds per signing command.
export PGCA_PASSPHRASE_FILE="$work/passphrase"
(umask 077; echo "bench passphrase" > "$PGCA_PASSPHRASE_FILE") # pgca refuses one others can read

# --- pgca -------------------------------------------------------------------------------------
t0=$(now)
"$pgca" --dir "$work/pgca" init --no-passphrase >/dev/null
t1=$(now)
pgca_init=$(secs "$t0" "$t1")

seq -f 'user%g' 1 "$N" > "$work/roles"
sync
t0=$(now)
# One call (xargs would split 10,000 names into several).
mapfile -t roles < "$work/roles"
"$pgca" --dir "$work/pgca" issue-client --quiet "${roles[@]}"
t1=$(now)
pgca_issue=$(secs "$t0" "$t1")
[ "$(find "$work/pgca/clients" -maxdepth 1 -name '*.crt' | wc -l)" -eq "$N" ] || { echo "bench: pgca issued the wrong number" >&2; exit 1; }

# --- the seed's openssl recipe ----------------------------------------------------------------
# $1: key options for openssl req (the seed uses the default, RSA-2048)
openssl_init() {
  local d=$1; shift
  mkdir -p "$d"
  openssl req -sha256 -new -x509 -days 3650 -nodes "$@" -subj "/CN=server CA" \
    -out "$d/server-ca.crt" -keyout "$d/server-ca.key" 2>/dev/null
  openssl req -sha256 -new -x509 -days 3650 -nodes "$@" -subj "/CN=client CA" \
    -out "$d/client-ca.crt" -keyout "$d/client-ca.key" 2>/dev/null
}
openssl_issue() {
  local d=$1 count=$2; shift 2
  for i in $(seq 1 "$count"); do
    openssl req -sha256 -new -nodes "$@" -subj "/CN=user$i" -out "$d/user$i.csr" -keyout "$d/user$i.key" 2>/dev/null
    openssl x509 -req -sha256 -days 365 -in "$d/user$i.csr" -CA "$d/client-ca.crt" -CAkey "$d/client-ca.key" \
      -CAcreateserial -out "$d/user$i.crt" 2>/dev/null
  done
}

declare -A o_init o_issue
for variant in rsa ec; do
  case $variant in
    rsa) opts=() ;;                                                    # as the seed: RSA-2048
    ec) opts=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1) ;;     # pgca's default key type
  esac
  d="$work/openssl-$variant"
  t0=$(now); openssl_init "$d" "${opts[@]}"; t1=$(now)
  o_init[$variant]=$(secs "$t0" "$t1")
  t0=$(now); openssl_issue "$d" "$SAMPLE" "${opts[@]}"; t1=$(now)
  o_issue[$variant]=$(awk -v s="$(secs "$t0" "$t1")" -v n="$N" -v k="$SAMPLE" 'BEGIN { printf "%.3f", s * n / k }')
done

cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')
echo "pgca $("$pgca" --version | cut -d' ' -f2), $(openssl version | cut -d' ' -f1-2), $(nproc) cores ($cpu), $(date -u +%Y-%m-%d)"
echo
echo "| task | pgca (ecdsa-p256) | openssl recipe, RSA-2048 (as the guides) | openssl recipe, EC P-256 | speed-up vs RSA / EC |"
echo "|---|---|---|---|---|"
echo "| init: server CA + client CA | ${pgca_init} s | ${o_init[rsa]} s | ${o_init[ec]} s | $(ratio "$pgca_init" "${o_init[rsa]}") / $(ratio "$pgca_init" "${o_init[ec]}") |"
echo "| issue $N client certificates | ${pgca_issue} s | ${o_issue[rsa]} s | ${o_issue[ec]} s | $(ratio "$pgca_issue" "${o_issue[rsa]}") / $(ratio "$pgca_issue" "${o_issue[ec]}") |"
echo
echo "pgca issues all $N in one call, every key and certificate durable (one syncfs) before the inventory commit."
echo "The openssl recipe ran $SAMPLE certificates (two processes each, no fsync) and is scaled to $N."

# --- a CA rollover ------------------------------------------------------------------------------
# N client certificates moved to a new client CA: `rollover switch` and the `renew` that re-issues
# every one of them, timed together, on tmpfs (ROLLOVER_DIR, default /dev/shm) so that the row
# measures pgca and not the disk. The openssl recipe's equivalent is issuing all N again: its
# rows above.
rdir_base=${ROLLOVER_DIR:-/dev/shm}
[ -d "$rdir_base" ] || rdir_base=$work
rdir=$(mktemp -d "$rdir_base/pgca-bench-rollover.XXXXXX")
"$pgca" --dir "$rdir/ca" init --no-passphrase >/dev/null
"$pgca" --dir "$rdir/ca" issue-client --quiet "${roles[@]}"
"$pgca" --dir "$rdir/ca" rollover start client --quiet
sync
t0=$(now)
"$pgca" --dir "$rdir/ca" rollover switch client --quiet
"$pgca" --dir "$rdir/ca" renew --quiet >/dev/null
t1=$(now)
pgca_rollover=$(secs "$t0" "$t1")
"$pgca" --dir "$rdir/ca" rollover status | grep -q "certificates: 0 on the old CA, $N on the new" \
  || { echo "bench: not every certificate is on the new CA after the rollover" >&2; exit 1; }
rm -rf "$rdir"
echo
echo "| CA rollover (tmpfs) | pgca | openssl recipe, EC P-256: issue all $N again |"
echo "|---|---|---|"
echo "| rollover switch client + renew: $N client certificates re-issued by the new CA | ${pgca_rollover} s | ${o_issue[ec]} s |"

# --- issuing and checking as the inventory grows --------------------------------------------------
# One CA directory per size, all built first. The per-certificate rows then take their batches in
# rounds, one batch per size per round (the order reversed every other round), so that every size is
# measured on the same filesystem at the same moments. Measuring the 1k row before building the 100k
# directory, as the first rounds of this benchmark did, also measured what building 600,000 inodes
# did to the filesystem in between (docs/benchmarks.md).
CHECK_SIZES=${CHECK_SIZES:-"1000 10000 100000"}
ROUNDS=${ROUNDS:-7}
for size in $CHECK_SIZES; do
  "$pgca" --dir "$work/inv$size" init --no-passphrase >/dev/null
  seq -f 'c%g' 1 "$size" | xargs -n 5000 "$pgca" --dir "$work/inv$size" issue-client --quiet
done
sync
read -r -a sizes <<< "$CHECK_SIZES"
: > "$work/batches"
for round in $(seq 1 "$ROUNDS"); do
  order=("${sizes[@]}")
  if [ $((round % 2)) -eq 0 ]; then
    order=(); for ((i = ${#sizes[@]} - 1; i >= 0; i--)); do order+=("${sizes[$i]}"); done
  fi
  for size in "${order[@]}"; do
    mapfile -t extra < <(seq -f "x${round}-%g" 1 200)
    # %O: blocks of 512 bytes the batch had written to disk (its own writes and fsyncs). The time
    # is taken around it, as /usr/bin/time's %e has a resolution of 10 ms.
    t0=$(now)
    /usr/bin/time -f '%O' -o "$work/time" "$pgca" --dir "$work/inv$size" issue-client --quiet "${extra[@]}"
    t1=$(now)
    awk -v z="$size" -v a="$t0" -v b="$t1" -v o="$(cat "$work/time")" 'BEGIN { printf "%s %.4f %s\n", z, b - a, o }' >> "$work/batches"
  done
done
declare -A per_cert per_kib
for size in $CHECK_SIZES; do
  per_cert[$size]=$(awk -v z="$size" '$1 == z { print $2 * 1000 / 200 }' "$work/batches" | sort -g |
    awk '{ a[NR] = $1 } END { printf "%.3f", a[int((NR + 1) / 2)] }')
  per_kib[$size]=$(awk -v z="$size" '$1 == z { print $3 / 2 }' "$work/batches" | sort -n |
    awk '{ a[NR] = $1 } END { printf "%d", a[int((NR + 1) / 2)] }')
done

echo
echo "| certificates | pgca check (median of 3) | peak RSS | cold page cache | openssl x509 -checkend loop (sampled) | speed-up | pgca verify (median of 3) | verify peak RSS |"
echo "|---|---|---|---|---|---|---|---|"
for size in $CHECK_SIZES; do
  cdir="$work/inv$size"
  # check: the median of three runs after one to warm the cache (this VM's timings swing from run
  # to run, and the cold-cache column below is measured on its own).
  sync
  "$pgca" --dir "$cdir" check >/dev/null || true
  for r in 1 2 3; do
    /usr/bin/time -f '%e %M' -o "$work/time" "$pgca" --dir "$cdir" check >/dev/null || true
    cat "$work/time"
  done | sort -n > "$work/checks"
  read -r check_s check_kb < <(sed -n 2p "$work/checks")
  cold=""
  if [ -w /proc/sys/vm/drop_caches ]; then
    sync; echo 3 > /proc/sys/vm/drop_caches
    /usr/bin/time -f '%e' -o "$work/time" "$pgca" --dir "$cdir" check >/dev/null || true
    cold="$(cat "$work/time") s"
  fi
  # openssl: one process per certificate, as a cron script would loop; timed on a sample.
  find "$cdir/clients" -maxdepth 1 -name '*.crt' > "$work/all"
  head -n "$SAMPLE" "$work/all" > "$work/sample"
  t0=$(now)
  while read -r f; do openssl x509 -checkend 2592000 -noout -in "$f" >/dev/null; done < "$work/sample"
  t1=$(now)
  o_check=$(awk -v s="$(secs "$t0" "$t1")" -v n="$size" -v k="$SAMPLE" 'BEGIN { printf "%.2f", s * n / k }')
  # verify: the doctor (every key loaded, every chain checked), timed the same way as check.
  for r in 1 2 3; do
    /usr/bin/time -f '%e %M' -o "$work/time" "$pgca" --dir "$cdir" verify >/dev/null || true
    cat "$work/time"
  done | sort -n > "$work/verifies"
  read -r verify_s verify_kb < <(sed -n 2p "$work/verifies")
  echo "| $size | ${check_s} s | $((check_kb / 1024)) MiB | ${cold:--} | ${o_check} s | $(ratio "$check_s" "$o_check") | ${verify_s} s | $((verify_kb / 1024)) MiB |"
done
echo
echo "pgca check reads every certificate and key from disk and checks that they match; the openssl"
echo "loop only reads the certificate (one process each), timed on $SAMPLE and scaled. pgca verify"
echo "also loads every key in full, checks chains, usages and modes, and every entry of the directory."

first=${sizes[0]}
echo
echo "| inventory size | per-certificate issue time (median of $ROUNDS batches of 200) | vs $first | written per batch (median) |"
echo "|---|---|---|---|"
for size in $CHECK_SIZES; do
  echo "| $size | ${per_cert[$size]} ms | $(awk -v a="${per_cert[$first]}" -v b="${per_cert[$size]}" 'BEGIN { printf "%.2f×", b / a }') | ${per_kib[$size]} KiB |"
done

# --- what encryption of the CA keys costs a signing command, and start-up ----------------------
edir="$work/encrypted"
"$pgca" --dir "$edir" init >/dev/null
t0=$(now); for i in 1 2 3 4 5; do "$pgca" --dir "$edir" issue-client --quiet "e$i"; done; t1=$(now)
enc=$(awk -v s="$(secs "$t0" "$t1")" 'BEGIN { printf "%.3f", s / 5 }')
pdir="$work/plain"
"$pgca" --dir "$pdir" init --no-passphrase >/dev/null
t0=$(now); for i in 1 2 3 4 5; do "$pgca" --dir "$pdir" issue-client --quiet "p$i"; done; t1=$(now)
plain=$(awk -v s="$(secs "$t0" "$t1")" 'BEGIN { printf "%.3f", s / 5 }')
t0=$(now); for i in $(seq 1 100); do "$pgca" --version >/dev/null; done; t1=$(now)
startup=$(awk -v s="$(secs "$t0" "$t1")" 'BEGIN { printf "%.1f", s * 10 }')
echo
echo "| command | time |"
echo "|---|---|"
echo "| issue-client, one certificate, CA key encrypted (scrypt N=2^14 r=8 p=8) | ${enc} s |"
echo "| issue-client, one certificate, CA key unencrypted | ${plain} s |"
echo "| key derivation per signing command (the difference) | $(awk -v a="$enc" -v b="$plain" 'BEGIN { printf "%.3f", a - b }') s |"
echo "| pgca --version (start-up, mean of 100) | ${startup} ms |"

# --- probing running servers --------------------------------------------------------------------
# PROBES throwaway PostgreSQL servers (Debian's, as the postgres user, on 127.0.0.1 and free ports,
# ssl = on with a pgca server certificate), stopped by their pids at the end. pgca probe takes them
# all in one call; the tool a user would reach for instead, openssl s_client -starttls postgres,
# takes one per process.
PROBES=${PROBES:-20}
pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
pgroot=$(mktemp -d /tmp/pgca-bench-pg.XXXXXX)
chmod 755 "$pgroot"
stop_servers() {
  for pidfile in "$pgroot"/*/postmaster.pid; do
    [ -e "$pidfile" ] && kill -INT "$(head -1 "$pidfile")" 2>/dev/null || true
  done
  sleep 1
  rm -rf "$pgroot"
}
trap 'stop_servers; rm -rf "$work"' EXIT
as_postgres() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
pdir="$work/probe-ca"
"$pgca" --dir "$pdir" init --no-passphrase --server-host localhost --server-host 127.0.0.1 >/dev/null
template="$pgroot/template"
[ "$(id -u)" -eq 0 ] && chown postgres: "$pgroot"
as_postgres "$pgbin/initdb" -D "$template" -U postgres -A trust --no-sync --no-instructions >/dev/null
cp "$pdir/servers/localhost.crt" "$template/server.crt"
cp "$pdir/servers/localhost.key" "$template/server.key"
cp "$pdir/client-ca.crt" "$template/client-ca.crt"
chmod 600 "$template/server.key"
[ "$(id -u)" -eq 0 ] && chown postgres: "$template"/server.* "$template/client-ca.crt"
cat >> "$template/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
ssl = on
ssl_cert_file = 'server.crt'
ssl_key_file = 'server.key'
ssl_ca_file = 'client-ca.crt'
ssl_min_protocol_version = 'TLSv1.3'
shared_buffers = 16MB
max_connections = 20
fsync = off
CONF
mapfile -t ports < <(/usr/bin/python3 -c '
import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks: s.bind(("127.0.0.1", 0))
for s in socks: print(s.getsockname()[1])' "$PROBES")
targets=()
for port in "${ports[@]}"; do
  as_postgres cp -a "$template" "$pgroot/$port"
  as_postgres "$pgbin/pg_ctl" -D "$pgroot/$port" -l "$pgroot/$port.log" -w -o "-p $port -k $pgroot" start >/dev/null
  targets+=("127.0.0.1:$port")
done
median() { sort -g | awk '{ a[NR] = $1 } END { printf "%.4f", a[int((NR + 1) / 2)] }'; }
"$pgca" --dir "$pdir" probe --quiet "${targets[@]}" || { echo "bench: probe of the servers failed" >&2; exit 1; }
all=$(for r in 1 2 3 4 5; do
  t0=$(now); "$pgca" --dir "$pdir" probe --quiet "${targets[@]}"; t1=$(now); secs "$t0" "$t1"; echo
done | median)
one=$(for r in $(seq 1 21); do
  t0=$(now); "$pgca" --dir "$pdir" probe --quiet "${targets[0]}"; t1=$(now); secs "$t0" "$t1"; echo
done | median)
o_one=$(for r in $(seq 1 21); do
  t0=$(now)
  openssl s_client -starttls postgres -connect "${targets[0]}" </dev/null 2>/dev/null | openssl x509 -noout -serial >/dev/null
  t1=$(now); secs "$t0" "$t1"; echo
done | median)
t0=$(now)
for t in "${targets[@]}"; do
  openssl s_client -starttls postgres -connect "$t" </dev/null 2>/dev/null | openssl x509 -noout -serial >/dev/null
done
t1=$(now)
o_all=$(secs "$t0" "$t1")
ms() { awk -v s="$1" 'BEGIN { printf "%.1f ms", s * 1000 }'; }
echo
echo "| probe (SSLRequest, TLS 1.3 handshake, chain judged) | pgca probe | openssl s_client -starttls postgres \| openssl x509 -serial | speed-up |"
echo "|---|---|---|---|"
echo "| one server (median of 21) | $(ms "$one") | $(ms "$o_one") | $(ratio "$one" "$o_one") |"
echo "| $PROBES servers on loopback (pgca: one call, median of 5; openssl: a loop) | $(ms "$all") | $(ms "$o_all") | $(ratio "$all" "$o_all") |"
echo
echo "pgca also checks each chain against the server CA, the host name by libpq's rules and the"
echo "served serial against the inventory; the openssl pipeline only fetches the certificate."

# --- auditing running servers --------------------------------------------------------------------
# pgca audit of the same servers, live over TCP (TLS, the superuser by initdb's trust line): the
# settings, pg_hba_file_rules, pg_ident_file_mappings and pg_roles read, every check run, the
# served chain probed. What a user does instead: psql reading the same views (no judging).
audit_of() {
  local out=()
  for t in "$@"; do out+=("host=127.0.0.1 port=${t##*:} user=postgres dbname=postgres sslmode=require"); done
  printf '%s\0' "${out[@]}"
}
mapfile -d '' -t audit_all < <(audit_of "${targets[@]}")
audited() {
  local rc=0
  "$pgca" --dir "$pdir" audit --quiet "$@" || rc=$?
  [ "$rc" -le 2 ] || { echo "bench: pgca audit could not read a server (exit $rc)" >&2; exit 1; }
}
audited "${audit_all[@]}"
a_one=$(for r in $(seq 1 21); do
  t0=$(now); audited "${audit_all[0]}"; t1=$(now); secs "$t0" "$t1"; echo
done | median)
a_all=$(for r in 1 2 3 4 5; do
  t0=$(now); audited "${audit_all[@]}"; t1=$(now); secs "$t0" "$t1"; echo
done | median)
psql_read() {
  PGSSLMODE=require psql -X -q -A -t -h 127.0.0.1 -p "$1" -U postgres -d postgres \
    -c "SELECT name, setting, sourcefile, sourceline FROM pg_settings" \
    -c "SELECT * FROM pg_hba_file_rules" -c "SELECT * FROM pg_ident_file_mappings" \
    -c "SELECT rolname, rolcanlogin, rolsuper FROM pg_roles" >/dev/null
}
p_one=$(for r in $(seq 1 21); do
  t0=$(now); psql_read "${ports[0]}"; t1=$(now); secs "$t0" "$t1"; echo
done | median)
t0=$(now)
for port in "${ports[@]}"; do psql_read "$port"; done
t1=$(now)
p_all=$(secs "$t0" "$t1")
echo
echo "| live audit (settings, hba, ident, roles read; every check; served chain probed) | pgca audit | psql reading the same views | ratio |"
echo "|---|---|---|---|"
echo "| one server (median of 21) | $(ms "$a_one") | $(ms "$p_one") | $(ratio "$a_one" "$p_one") |"
echo "| $PROBES servers in one call (pgca: median of 5; psql: a loop) | $(ms "$a_all") | $(ms "$p_all") | $(ratio "$a_all" "$p_all") |"
# --- online renewals through pgca serve ----------------------------------------------------------
# examples/loadgen.rs in the same run: LOAD_CLIENTS clients (default 50) each enrolled with a
# token, then renewing over mutual TLS with the certificate they hold and a new P-256 key each
# time, a TLS connection per request. Closed loop (back to back, LOAD_SECONDS) for throughput;
# open loop at LOAD_RATE renewals a second (default 250) for latency, counted from each
# renewal's scheduled time. The CA keys are encrypted (serve decrypts them once, at start). What
# a user does instead, offline: the seed's openssl recipe per renewal (a request, then
# `openssl x509 -req` signing it), no network and no inventory, timed over SAMPLE renewals.
LOAD_CLIENTS=${LOAD_CLIENTS:-50}
LOAD_SECONDS=${LOAD_SECONDS:-10}
LOAD_RATE=${LOAD_RATE:-250}
loadgen=${LOADGEN:-target/release/examples/loadgen}
odir="$work/online"
"$pgca" --dir "$odir" init --server-host localhost >/dev/null
tokens() {
  for i in $(seq 0 $((LOAD_CLIENTS - 1))); do
    "$pgca" --dir "$odir" token "load$i" --client --validity 1h
  done > "$1"
}
tokens "$work/tokens-closed"
tokens "$work/tokens-open"
"$pgca" --dir "$odir" serve --listen 127.0.0.1:0 --tls-name localhost --rate 100000 \
  --log "$work/serve.log" 2> "$work/serve.err" &
serve_pid=$!
for _ in $(seq 1 100); do grep -q 'https://127.0.0.1:' "$work/serve.err" 2>/dev/null && break; sleep 0.1; done
oport=$(sed -n 's|.*https://127.0.0.1:\([0-9]*\).*|\1|p' "$work/serve.err" | head -1)
[ -n "$oport" ] || { echo "bench: pgca serve did not start: $(cat "$work/serve.err")" >&2; exit 1; }
load() {
  "$loadgen" --ca "https://localhost:$oport" --server-ca "$odir/server-ca.crt" --seconds "$LOAD_SECONDS" "$@"
}
closed=$(load --tokens "$work/tokens-closed")
open_=$(load --tokens "$work/tokens-open" --rate "$LOAD_RATE")
kill "$serve_pid"; wait "$serve_pid" 2>/dev/null || true
field() { python3 -c 'import json,sys; v=json.loads(sys.argv[1])[sys.argv[2]]; print(v if not isinstance(v, float) else "%.1f" % v)' "$1" "$2"; }
for r in "$closed" "$open_"; do
  [ "$(field "$r" errors)" -eq 0 ] || { echo "bench: renewals failed: $r" >&2; exit 1; }
done
"$pgca" --dir "$odir" verify >/dev/null || { echo "bench: verify failed after the load" >&2; exit 1; }
# The same closed loop with the inventory in PostgreSQL (--inventory): a cluster of its own made
# from the probe rows' template, fsync and synchronous_commit on (the file inventory fdatasyncs
# every batch too), reached over its Unix socket; the CA directory's inventory exported, imported
# there and moved aside; serve, its clients and PostgreSQL on the same 2 cores.
iport=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
as_postgres cp -a "$template" "$pgroot/inventory"
as_postgres "$pgbin/pg_ctl" -D "$pgroot/inventory" -l "$pgroot/inventory.log" -w \
  -o "-p $iport -k $pgroot -c fsync=on -c synchronous_commit=on -c max_connections=40" start >/dev/null
inventory_db="host=$pgroot port=$iport user=postgres dbname=postgres"
ddir="$work/online-db"
"$pgca" --dir "$ddir" init --server-host localhost >/dev/null
"$pgca" --dir "$ddir" inventory export "$work/online-db.export" >/dev/null
"$pgca" --dir "$ddir" --inventory "$inventory_db" inventory import "$work/online-db.export" >/dev/null
mv "$ddir/inventory.jsonl" "$ddir/inventory.seal" "$work/"
for i in $(seq 0 $((LOAD_CLIENTS - 1))); do
  "$pgca" --dir "$ddir" --inventory "$inventory_db" token "load$i" --client --validity 1h
done > "$work/tokens-db"
"$pgca" --dir "$ddir" --inventory "$inventory_db" serve --listen 127.0.0.1:0 --tls-name localhost \
  --rate 100000 --log "$work/serve-db.log" 2> "$work/serve-db.err" &
serve_pid=$!
for _ in $(seq 1 100); do grep -q 'https://127.0.0.1:' "$work/serve-db.err" 2>/dev/null && break; sleep 0.1; done
dport=$(sed -n 's|.*https://127.0.0.1:\([0-9]*\).*|\1|p' "$work/serve-db.err" | head -1)
[ -n "$dport" ] || { echo "bench: pgca serve --inventory did not start: $(cat "$work/serve-db.err")" >&2; exit 1; }
closed_db=$("$loadgen" --ca "https://localhost:$dport" --server-ca "$ddir/server-ca.crt" \
  --seconds "$LOAD_SECONDS" --tokens "$work/tokens-db")
kill "$serve_pid"; wait "$serve_pid" 2>/dev/null || true
[ "$(field "$closed_db" errors)" -eq 0 ] || { echo "bench: renewals failed: $closed_db" >&2; exit 1; }
"$pgca" --dir "$ddir" --inventory "$inventory_db" verify >/dev/null \
  || { echo "bench: verify failed after the load (database inventory)" >&2; exit 1; }
mkdir -p "$work/ossl-renew"
openssl ecparam -name prime256v1 -genkey -noout -out "$work/ossl-renew/ca.key" 2>/dev/null
openssl req -new -x509 -days 3650 -key "$work/ossl-renew/ca.key" -subj "/CN=client CA" -out "$work/ossl-renew/ca.crt" 2>/dev/null
t0=$(now)
for i in $(seq 1 "$SAMPLE"); do
  openssl req -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -subj "/CN=user$i" \
    -keyout "$work/ossl-renew/u.key" -out "$work/ossl-renew/u.csr" 2>/dev/null
  openssl x509 -req -in "$work/ossl-renew/u.csr" -CA "$work/ossl-renew/ca.crt" -CAkey "$work/ossl-renew/ca.key" \
    -CAcreateserial -days 365 -sha256 -out "$work/ossl-renew/u.crt" 2>/dev/null
done
t1=$(now)
o_renew=$(awk -v s="$(secs "$t0" "$t1")" -v k="$SAMPLE" 'BEGIN { printf "%.1f", k / s }')
echo
echo "| online renewal ($LOAD_CLIENTS mutual-TLS clients, new key each, loadgen on the same 2 cores) | pgca serve | openssl recipe per renewal, offline (req + x509 -req) |"
echo "|---|---|---|"
echo "| back to back for ${LOAD_SECONDS} s: renewals per second | $(field "$closed" per_second) /s (p99 $(field "$closed" p99_ms) ms) | ${o_renew} /s |"
echo "| offered ${LOAD_RATE}/s for ${LOAD_SECONDS} s: latency p50 / p99 / max | $(field "$open_" p50_ms) / $(field "$open_" p99_ms) / $(field "$open_" max_ms) ms ($(field "$open_" per_second) /s served) | - |"
echo
echo "| online renewal, back to back for ${LOAD_SECONDS} s ($LOAD_CLIENTS clients) | inventory.jsonl | inventory in PostgreSQL (--inventory, same machine) | database / file |"
echo "|---|---|---|---|"
echo "| renewals per second (p99) | $(field "$closed" per_second) /s ($(field "$closed" p99_ms) ms) | $(field "$closed_db" per_second) /s ($(field "$closed_db" p99_ms) ms) | $(awk -v a="$(field "$closed" per_second)" -v b="$(field "$closed_db" per_second)" 'BEGIN { printf "%.2f", b / a }') |"
# --- CA keys in a PKCS#11 token (SoftHSM2) ------------------------------------------------------
# HSM_N client certificates (default 1000) in one call, every signature made by the token: one
# session and login for the whole batch. Skipped when SoftHSM2 is not installed.
HSM_N=${HSM_N:-1000}
module=/usr/lib/softhsm/libsofthsm2.so
if [ -e "$module" ] && command -v softhsm2-util >/dev/null 2>&1; then
  mkdir -p "$work/softhsm/tokens"
  export SOFTHSM2_CONF="$work/softhsm/softhsm2.conf"
  printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' \
    "$work/softhsm/tokens" > "$SOFTHSM2_CONF"
  softhsm2-util --init-token --free --label pgca-bench --pin 1234 --so-pin 5678 >/dev/null
  (umask 077; echo 1234 > "$work/softhsm/pin")
  hdir="$work/hsm"
  t0=$(now)
  PGCA_PASSPHRASE_FILE="$work/softhsm/pin" "$pgca" --dir "$hdir" init \
    --pkcs11-token pgca-bench --pkcs11-module "$module" >/dev/null
  t1=$(now)
  hsm_init=$(secs "$t0" "$t1")
  mapfile -t hroles < <(seq -f 'h%g' 1 "$HSM_N")
  sync
  t0=$(now)
  PGCA_PASSPHRASE_FILE="$work/softhsm/pin" "$pgca" --dir "$hdir" issue-client --quiet "${hroles[@]}"
  t1=$(now)
  hsm_issue=$(secs "$t0" "$t1")
  [ "$(find "$hdir/clients" -maxdepth 1 -name '*.crt' | wc -l)" -eq "$HSM_N" ] || { echo "bench: the token issued the wrong number" >&2; exit 1; }
  t0=$(now); for i in 1 2 3 4 5; do PGCA_PASSPHRASE_FILE="$work/softhsm/pin" "$pgca" --dir "$hdir" issue-client --quiet "one$i"; done; t1=$(now)
  hsm_one=$(awk -v s="$(secs "$t0" "$t1")" 'BEGIN { printf "%.3f", s / 5 }')
  echo
  echo "| CA keys in a SoftHSM2 token (PKCS#11, ecdsa-p256) | time |"
  echo "|---|---|"
  echo "| init: both CA keys generated in the token | ${hsm_init} s |"
  echo "| issue $HSM_N client certificates, one call, signed by the token | ${hsm_issue} s |"
  echo "| issue-client, one certificate (module load, login, challenge signature) | ${hsm_one} s |"
fi
