package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/gamemesh/gamemesh/client"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	dev := os.Args[1]
	a, err := client.GuestLogin(ctx, "http://127.0.0.1:7101", dev+"-a")
	must(err)
	b, err := client.GuestLogin(ctx, "http://127.0.0.1:7101", dev+"-b")
	must(err)
	conn, err := client.Dial(ctx, "tcp://127.0.0.1:7100", a.Ticket, client.Options{})
	must(err)
	defer conn.Close()
	must(conn.Call(ctx, "mail.send", &gamev1.SendMailRequest{To: string(b.PlayerID), Subject: "hi", Body: "hello", RequestId: dev}, &gamev1.SendMailResponse{}))
	for i := 0; i < 50; i++ {
		var l gamev1.ListAchievementsResponse
		must(conn.Call(ctx, "achievement.list", &gamev1.ListAchievementsRequest{}, &l))
		for _, x := range l.Achievements {
			if x.Id == "first_mail" {
				fmt.Println("first_mail reward:", x.Reward)
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	fmt.Println("not unlocked")
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}
