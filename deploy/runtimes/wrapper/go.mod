module integr8s.local/wrapper

go 1.22
