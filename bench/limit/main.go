// Command limit is the ceiling reference for `make bench`: a fiber
// handler that does one Redis GET and one SET per request and nothing
// else. No USSD gateway on this machine can beat it, so Huduma's figures
// are reported as a fraction of it.
//
//	go run ./bench/limit ADDR REDIS_URL
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/redis/go-redis/v9"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: limit ADDR REDIS_URL")
		os.Exit(2)
	}
	opt, err := redis.ParseURL(os.Args[2])
	if err != nil {
		fmt.Fprintln(os.Stderr, "limit:", err)
		os.Exit(1)
	}
	rdb := redis.NewClient(opt)
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	app.Get("/healthz", func(c *fiber.Ctx) error { return c.SendString("ok") })
	app.Post("/ussd", func(c *fiber.Ctx) error {
		ctx, cancel := context.WithTimeout(c.UserContext(), 2*time.Second)
		defer cancel()
		key := "limit:s:" + c.FormValue("sessionId")
		prev, err := rdb.Get(ctx, key).Result()
		if err != nil && err != redis.Nil {
			return c.Status(500).SendString("END busy")
		}
		if err := rdb.Set(ctx, key, prev+"*"+c.FormValue("text"), 3*time.Minute).Err(); err != nil {
			return c.Status(500).SendString("END busy")
		}
		return c.SendString("CON ok")
	})
	if err := app.Listen(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "limit:", err)
		os.Exit(1)
	}
}
