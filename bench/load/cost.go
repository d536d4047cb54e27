package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
)

// usage is what the gateway, Redis and Postgres had spent at one moment:
// two samples around a paced run give the cost of a hop, the figures
// docs/capacity.md scales up. CPU is process time, so it holds on a busy
// machine where hops per second do not.
type usage struct {
	gatewayCPU time.Duration
	redisCPU   time.Duration
	redisCmds  int64
	pgRows     int64 // rows inserted, updated or deleted in the run's schema
}

// clockTicks is Linux's USER_HZ, the unit of /proc/<pid>/stat times; it is
// 100 on every architecture Go's linux ports run on.
const clockTicks = 100

// sampleUsage reads the CPU of process pid (the gateway, or the limit)
// from /proc, Redis's from INFO, and the schema's row writes from
// pg_stat_user_tables.
func sampleUsage(ctx context.Context, pid int, rdb *redis.Client, pg *pgx.Conn, schema string) (usage, error) {
	var u usage
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return u, fmt.Errorf("gateway cpu: %w", err)
	}
	// The command name (field 2) may hold spaces: count from its ")".
	f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	if len(f) < 13 {
		return u, fmt.Errorf("gateway cpu: short /proc stat")
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	u.gatewayCPU = time.Duration(utime+stime) * time.Second / clockTicks

	info, err := rdb.Info(ctx, "cpu", "stats").Result()
	if err != nil {
		return u, fmt.Errorf("redis info: %w", err)
	}
	for _, line := range strings.Split(info, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok {
			continue
		}
		switch k {
		case "used_cpu_user", "used_cpu_sys":
			s, _ := strconv.ParseFloat(v, 64)
			u.redisCPU += time.Duration(s * float64(time.Second))
		case "total_commands_processed":
			u.redisCmds, _ = strconv.ParseInt(v, 10, 64)
		}
	}
	err = pg.QueryRow(ctx, `SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0)::bigint FROM pg_stat_user_tables WHERE schemaname = $1`, schema).Scan(&u.pgRows)
	if err != nil {
		return u, fmt.Errorf("postgres row counts: %w", err)
	}
	return u, nil
}

// schemaOf is the schema a freshSchema URL names first in its search_path.
func schemaOf(dbURL string) string {
	u, err := url.Parse(dbURL)
	if err != nil {
		return ""
	}
	s, _, _ := strings.Cut(u.Query().Get("search_path"), ",")
	return s
}

// cost is what one hop and one journey of a paced run cost.
type cost struct {
	hops             int64
	cpuUS, redisUS   float64 // process and Redis CPU per hop, µs
	redisCmds        float64 // Redis commands per hop, scripts' inner calls counted
	pgRowsPerJourney float64
	hopsPerJourney   int
}

// costBetween is the cost of hops between two samples.
func costBetween(before, after usage, hops int64, hopsPerJourney int) cost {
	c := cost{hops: hops, hopsPerJourney: hopsPerJourney}
	if hops == 0 {
		return c
	}
	per := func(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) / float64(hops) }
	c.cpuUS, c.redisUS = per(after.gatewayCPU-before.gatewayCPU), per(after.redisCPU-before.redisCPU)
	c.redisCmds = float64(after.redisCmds-before.redisCmds) / float64(hops)
	c.pgRowsPerJourney = float64(after.pgRows-before.pgRows) / (float64(hops) / float64(hopsPerJourney))
	return c
}

// costReport says what one hop and one journey of a paced run cost. CPU
// and Redis are read at once, before anything else (another client of the
// same Redis, the gateway's idle workers) adds to them; Postgres publishes
// an idle backend's row counts up to 10 s after its last transaction, so
// the rows are read after a wait. Redis serves every target and anything
// else on the machine: its figures are an upper bound when other work
// shares it.
func costReport(before usage, after func() (usage, error), hops int64, hopsPerJourney int) (cost, error) {
	a, err := after()
	if err != nil {
		return cost{}, err
	}
	time.Sleep(11 * time.Second)
	rows, err := after()
	if err != nil {
		return cost{}, err
	}
	a.pgRows = rows.pgRows
	return costBetween(before, a, hops, hopsPerJourney), nil
}

// String is the cost line of the report.
func (c cost) String() string {
	return fmt.Sprintf("cost of journeys to an invoice (%d hops, %d a journey, paced): gateway CPU %.0f µs per hop, Redis CPU %.0f µs and %.2f commands per hop, "+
		"Postgres %.1f rows written per journey", c.hops, c.hopsPerJourney, c.cpuUS, c.redisUS, c.redisCmds, c.pgRowsPerJourney)
}
