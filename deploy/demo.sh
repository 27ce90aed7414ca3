#!/usr/bin/env bash
# The egd demo: a small static mesh in network namespaces.
#
#   sudo ./deploy/demo.sh
#
# Builds egd (release), creates three namespaces A, R and B joined by veth
# pairs A–R and R–B only (there is no direct A–B link), runs one egd edge with
# a tap interface in each, pings B's tap address from A — the frames cross R
# as a relay — then prints every node's next-hop table and counters, read from
# its Prometheus /metrics endpoint. Everything it creates is removed on exit,
# also on failure or Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."

[[ $(id -u) -eq 0 ]] || { echo "demo.sh: run as root (it creates network namespaces)" >&2; exit 1; }
for cmd in ip ping; do
  command -v "$cmd" >/dev/null || { echo "demo.sh: needs '$cmd' (apt-get install iproute2 iputils-ping)" >&2; exit 1; }
done

echo "== building egd (release)"
cargo build --release --quiet
EGD=$PWD/target/release/egd

tag="egdemo$$"
work=$(mktemp -d)
names=(A R B)
declare -A NS PORT ADDR
for i in 1 2 3; do NS[$i]="$tag-${names[$((i-1))]}"; PORT[$i]=$((3000 + i)); done
pids=()

cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  for i in 1 2 3; do ip netns del "${NS[$i]}" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

echo "== namespaces ${NS[1]}, ${NS[2]}, ${NS[3]}: veth A–R and R–B"
for i in 1 2 3; do ip netns add "${NS[$i]}"; ip -n "${NS[$i]}" link set lo up; done
veth() { # veth NS_A ADDR_A NS_B ADDR_B NAME
  ip link add "$5a" netns "$1" type veth peer "$5b" netns "$3"
  ip -n "$1" addr add "$2/24" dev "$5a"; ip -n "$1" link set "$5a" up
  ip -n "$3" addr add "$4/24" dev "$5b"; ip -n "$3" link set "$5b" up
}
veth "${NS[1]}" 10.0.1.1 "${NS[2]}" 10.0.1.2 ar
veth "${NS[2]}" 10.0.2.1 "${NS[3]}" 10.0.2.2 rb

echo "== configs (fresh keys) in $work"
for i in 1 2 3; do
  "$EGD" genkey > "$work/$i.key"
  "$EGD" pubkey < "$work/$i.key" > "$work/$i.pub"
done
peer() { # peer ID ENDPOINT
  printf -- '- NodeID: %s\n  PubKey: %s\n  EndPoint: %s\n  Static: true\n' "$1" "$(cat "$work/$1.pub")" "$2"
}
write_config() { # write_config ID PEERS...
  local id=$1; shift
  cat > "$work/edge$id.yaml" <<YAML
Interface:
  IType: tap
  Name: egd0
  MacAddrPrefix: 02:EE:00:00
  IPv4CIDR: 10.77.0.0/24
  MTU: 1400
NodeID: $id
NodeName: ${names[$((id-1))]}
PrivKey: $(cat "$work/$id.key")
ListenPort: ${PORT[$id]}
LogLevel:
  LogLevel: error
Metrics:
  Listen: 127.0.0.1:9586
NextHopTable:
  1: {2: 2, 3: 2}
  2: {1: 1, 3: 3}
  3: {1: 2, 2: 2}
Peers:
$(printf '%s\n' "$@")
YAML
}
write_config 1 "$(peer 2 10.0.1.2:3002)"
write_config 2 "$(peer 1 10.0.1.1:3001)" "$(peer 3 10.0.2.2:3003)"
write_config 3 "$(peer 2 10.0.2.1:3002)"

echo "== starting three egd edges (tap egd0 = 10.77.0.<NodeID>/24)"
for i in 1 2 3; do
  ip netns exec "${NS[$i]}" "$EGD" --no-uapi --config "$work/edge$i.yaml" 2> "$work/edge$i.log" &
  pids+=($!)
done
for i in 1 2 3; do
  for _ in $(seq 50); do
    ip -n "${NS[$i]}" -4 addr show dev egd0 2>/dev/null | grep -q "10.77.0.$i/24" && break
    sleep 0.1
  done
done

echo "== ping B (10.77.0.3) from A: the path is A → R → B"
ip netns exec "${NS[1]}" ping -c 5 -i 0.2 -W 5 10.77.0.3

scrape() { # scrape ID — node ID's /metrics, from inside its namespace
  ip netns exec "${NS[$1]}" bash -c \
    'exec 3<>/dev/tcp/127.0.0.1/9586 && printf "GET /metrics HTTP/1.0\r\n\r\n" >&3 && cat <&3' 2>/dev/null
}
sleep 1.2   # counters are published once a second

echo
echo "== next-hop tables (egd_next_hop{dst} on each node)"
for i in 1 2 3; do
  row=$(scrape "$i" | awk -F'[{}"= ]+' '/^egd_next_hop\{/ {printf "%s→%s ", $3, $4}')
  printf '  node %s (%s): %s\n' "$i" "${names[$((i-1))]}" "${row:-(none)}"
done

echo
echo "== counters"
printf '  %-8s %10s %10s %10s %12s %12s\n' node delivered relayed dropped tx_packets rx_packets
for i in 1 2 3; do
  m=$(scrape "$i")
  sum() { echo "$m" | awk -v p="$1" 'index($0, p) == 1 {s += $NF} END {printf "%d", s}'; }
  printf '  %-8s %10s %10s %10s %12s %12s\n' "$i (${names[$((i-1))]})" \
    "$(sum egd_delivered_packets_total)" "$(sum 'egd_forwarded_packets_total{kind="unicast"}')" \
    "$(sum egd_dropped_packets_total)" "$(sum egd_peer_tx_packets_total)" "$(sum egd_peer_rx_packets_total)"
done
echo
echo "R relayed A's pings to B and B's replies to A: its 'relayed' count is the"
echo "number of frames that crossed it. Cleaning up."
