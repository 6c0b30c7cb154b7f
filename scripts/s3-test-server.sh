#!/usr/bin/env bash
# Starts or stops moto's S3-compatible server on loopback for the test suites: start|stop PORT.
# moto answers like S3 (buckets, objects, multipart, listing, CORS) but does not check signatures; the SigV4
# suite in Tests/MediaTests checks those against AWS's published vectors.
set -euo pipefail
action=$1 port=$2
pidfile=/tmp/videotube-moto-$port.pid
case $action in
start)
  if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then echo "S3 test server (moto) on http://127.0.0.1:$port"; exit 0; fi
  python3 -m moto.server -H 127.0.0.1 -p "$port" >/tmp/videotube-moto-$port.log 2>&1 &
  echo $! >"$pidfile"
  for _ in $(seq 1 100); do
    if python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/', timeout=1)" 2>/dev/null; then echo "S3 test server (moto) on http://127.0.0.1:$port"; exit 0; fi
    sleep 0.2
  done
  echo "moto did not start: see /tmp/videotube-moto-$port.log"; exit 1
  ;;
stop)
  [ -f "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null || true
  rm -f "$pidfile"
  ;;
esac
