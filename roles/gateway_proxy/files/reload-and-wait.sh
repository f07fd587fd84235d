#!/bin/sh
# Reload nginx.service and wait until a worker of the new configuration runs, so that what
# follows (the self-test) meets the new configuration, not an old worker.
set -eu
pid_file=$1
master=$(cat "$pid_file")
old=$(pgrep -P "$master" | sort)
systemctl reload nginx
i=0
while [ $i -lt 100 ]; do
  new=$(pgrep -P "$master" | sort)
  for worker in $new; do
    if ! echo "$old" | grep -qx "$worker"; then
      # The master signals the old workers right after starting the new ones.
      sleep 0.2
      exit 0
    fi
  done
  i=$((i + 1))
  sleep 0.1
done
echo "nginx did not start workers of the new configuration within 10 s" >&2
exit 1
