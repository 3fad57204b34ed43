#!/usr/bin/env bash
# Start the local PostgreSQL and Redis the test suite talks to, when they are not running.
set -uo pipefail

pg_up() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }
redis_up() { redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; }

if ! pg_up; then
    if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
        echo "services: starting PostgreSQL"
        pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
        for _ in $(seq 1 30); do pg_up && break; sleep 1; done
    fi
    pg_up || echo "services: PostgreSQL is not available at 127.0.0.1:5432"
fi

if ! redis_up; then
    if command -v redis-server >/dev/null 2>&1; then
        echo "services: starting Redis"
        mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
        redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" \
            --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log || true
        for _ in $(seq 1 20); do redis_up && break; sleep 0.5; done
    fi
    redis_up || echo "services: Redis is not available at 127.0.0.1:6379"
fi
exit 0
