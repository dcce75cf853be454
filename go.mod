module github.com/snapm/snapm-timersd

go 1.26.8

require (
	github.com/godbus/dbus/v5 v5.2.4
	go.uber.org/goleak v1.3.0
	go.uber.org/zap v1.28.0
	golang.org/x/sys v0.27.0
)

require go.uber.org/multierr v1.10.0 // indirect
