// Command wrapper is the entrypoint of every runtime image: it runs the user's program with its stdout and
// stderr on pipes, writes them to its own stdout as framed lines (see bridges/kubernetes/frames.ts), enforces
// the wall-time, CPU-time and file-size limits it is given, and ends with an exit report: exit code or signal,
// CPU time, peak memory, wall time, OOM kills and truncation flags.
//
// Usage: wrapper -- <program> [args...]
// Env: I8S_FRAME_KEY (required), I8S_WALL_MS, I8S_CPU_MS, I8S_FILE_BYTES, I8S_OUTPUT_BYTES, I8S_STDIN_FILE (input
// given at start), I8S_STDIN_OPEN=1 (after that file, pass on the wrapper's own stdin, which the backend attaches
// to, until it closes); all are removed from the program's environment.
package main

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

const chunkBytes = 3072 // 4 KiB of base64 per frame, far below the container runtime's 16 KiB log line

type settings struct {
	key         string
	wallMs      int64
	cpuMs       int64
	fileBytes   int64
	outputBytes int64
	stdinFile   string
	stdinOpen   bool
}

type report struct {
	V               int     `json:"v"`
	ExitCode        *int    `json:"exit_code"`
	Signal          *string `json:"signal"`
	CPUMs           float64 `json:"cpu_ms"`
	PeakMemoryKB    int64   `json:"peak_memory_kb"`
	WallMs          float64 `json:"wall_ms"`
	OOMKills        int64   `json:"oom_kills"`
	WallTimedOut    bool    `json:"wall_timed_out"`
	StdoutTruncated bool    `json:"stdout_truncated"`
	StderrTruncated bool    `json:"stderr_truncated"`
	Error           *string `json:"error"`
}

// framer serialises frames from both pipes onto stdout, numbering them, and caps each stream.
type framer struct {
	mu        sync.Mutex
	out       *bufio.Writer
	key       string
	seq       int
	cap       int64
	kept      map[byte]int64
	truncated map[byte]bool
}

func (f *framer) frame(tag byte, payload []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if tag != 'x' {
		room := f.cap - f.kept[tag]
		if int64(len(payload)) > room {
			f.truncated[tag] = true
			if room <= 0 {
				return
			}
			payload = payload[:room]
		}
		f.kept[tag] += int64(len(payload))
	}
	fmt.Fprintf(f.out, "%s %d %c %s\n", f.key, f.seq, tag, base64.StdEncoding.EncodeToString(payload))
	f.seq++
	f.out.Flush()
}

func (f *framer) pump(tag byte, r *os.File, done *sync.WaitGroup) {
	defer done.Done()
	buf := make([]byte, chunkBytes)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			f.frame(tag, buf[:n])
		}
		if err != nil {
			return
		}
	}
}

func envInt(name string, def int64) int64 {
	v, err := strconv.ParseInt(os.Getenv(name), 10, 64)
	if err != nil || v <= 0 {
		return def
	}
	return v
}

func readSettings() (settings, error) {
	s := settings{
		key:         os.Getenv("I8S_FRAME_KEY"),
		wallMs:      envInt("I8S_WALL_MS", 10_000),
		cpuMs:       envInt("I8S_CPU_MS", 10_000),
		fileBytes:   envInt("I8S_FILE_BYTES", 16<<20),
		outputBytes: envInt("I8S_OUTPUT_BYTES", 1<<20),
		stdinFile:   os.Getenv("I8S_STDIN_FILE"),
		stdinOpen:   os.Getenv("I8S_STDIN_OPEN") == "1",
	}
	if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(s.key) {
		return s, fmt.Errorf("I8S_FRAME_KEY must be 32 lower-case hex digits")
	}
	return s, nil
}

// childEnv is the wrapper's environment without its own settings.
func childEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "I8S_") {
			env = append(env, kv)
		}
	}
	return env
}

// oomKills reads the oom_kill counter of the container's cgroup (v2; 0 when not readable).
func oomKills() int64 {
	data, err := os.ReadFile("/sys/fs/cgroup/memory.events")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == "oom_kill" {
			n, _ := strconv.ParseInt(f[1], 10, 64)
			return n
		}
	}
	return 0
}

// killAll ends every process the program left: as PID 1 of the container everything but us, else its group.
func killAll(pid int) {
	if os.Getpid() == 1 {
		_ = syscall.Kill(-1, syscall.SIGKILL)
	} else {
		_ = syscall.Kill(-pid, syscall.SIGKILL)
	}
}

// reap collects every exited child (orphans are re-parented to PID 1, which is us in a container).
func reap() {
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
		if pid <= 0 || err != nil {
			return
		}
	}
}

// programStdin is what the program reads: nothing, the start input file, or a pipe fed with that file and then
// with the wrapper's own stdin until it closes (feed does the copying).
func programStdin(s settings) (*os.File, func(), error) {
	if !s.stdinOpen {
		if s.stdinFile == "" {
			return nil, nil, nil
		}
		f, err := os.Open(s.stdinFile)
		if err != nil {
			return nil, nil, fmt.Errorf("cannot open the input file: %v", err)
		}
		return f, nil, nil
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, nil, err
	}
	feed := func() {
		defer w.Close()
		if s.stdinFile != "" {
			if f, err := os.Open(s.stdinFile); err == nil {
				_, _ = io.Copy(w, f)
				f.Close()
			}
		}
		_, _ = io.Copy(w, os.Stdin)
	}
	return r, feed, nil
}

func limit(resource int, value uint64) error {
	return syscall.Setrlimit(resource, &syscall.Rlimit{Cur: value, Max: value})
}

func run(s settings, argv []string, f *framer) report {
	rep := report{V: 1}
	fail := func(msg string) report { rep.Error = &msg; return rep }
	if len(argv) == 0 {
		return fail("no program given")
	}
	path, err := exec.LookPath(argv[0])
	if err != nil {
		return fail(fmt.Sprintf("cannot find %s: %v", argv[0], err))
	}
	// inherited by the program: soft CPU limit sends SIGXCPU, the hard one a second later SIGKILL
	cpuSeconds := uint64((s.cpuMs + 999) / 1000)
	if err := syscall.Setrlimit(syscall.RLIMIT_CPU, &syscall.Rlimit{Cur: cpuSeconds, Max: cpuSeconds + 1}); err != nil {
		return fail(fmt.Sprintf("cannot set RLIMIT_CPU: %v", err))
	}
	if err := limit(syscall.RLIMIT_FSIZE, uint64(s.fileBytes)); err != nil {
		return fail(fmt.Sprintf("cannot set RLIMIT_FSIZE: %v", err))
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		return fail(err.Error())
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		return fail(err.Error())
	}
	oomBefore := oomKills()
	cmd := exec.Command(path, argv[1:]...)
	cmd.Args = argv
	cmd.Env = childEnv()
	stdin, feed, err := programStdin(s)
	if err != nil {
		return fail(err.Error())
	}
	if stdin != nil { // a nil *os.File in the io.Reader would not be nil: leave Stdin unset for /dev/null
		cmd.Stdin = stdin
	}
	cmd.Stdout = outW
	cmd.Stderr = errW
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	started := time.Now()
	if err := cmd.Start(); err != nil {
		return fail(fmt.Sprintf("cannot start %s: %v", argv[0], err))
	}
	outW.Close()
	errW.Close()
	if stdin != nil {
		stdin.Close()
	}
	if feed != nil {
		go feed()
	}
	var pumps sync.WaitGroup
	pumps.Add(2)
	go f.pump('o', outR, &pumps)
	go f.pump('e', errR, &pumps)

	var timedOut bool
	var mu sync.Mutex
	timer := time.AfterFunc(time.Duration(s.wallMs)*time.Millisecond, func() {
		mu.Lock()
		timedOut = true
		mu.Unlock()
		killAll(cmd.Process.Pid)
	})
	_ = cmd.Wait()
	wall := time.Since(started)
	timer.Stop()
	// descendants still holding the pipes would keep the log open: end them, then drain what they wrote
	killAll(cmd.Process.Pid)
	drained := make(chan struct{})
	go func() { pumps.Wait(); close(drained) }()
	select {
	case <-drained:
	case <-time.After(2 * time.Second):
	}
	reap()

	mu.Lock()
	rep.WallTimedOut = timedOut
	mu.Unlock()
	ws := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if ws.Signaled() {
		name := signalName(ws.Signal())
		rep.Signal = &name
	} else {
		code := ws.ExitStatus()
		rep.ExitCode = &code
	}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ru) == nil {
		rep.CPUMs = float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e6
		rep.PeakMemoryKB = ru.Maxrss
	}
	rep.WallMs = float64(wall.Microseconds()) / 1000
	rep.OOMKills = oomKills() - oomBefore
	return rep
}

var signalNames = map[syscall.Signal]string{
	syscall.SIGABRT: "SIGABRT", syscall.SIGBUS: "SIGBUS", syscall.SIGFPE: "SIGFPE", syscall.SIGHUP: "SIGHUP",
	syscall.SIGILL: "SIGILL", syscall.SIGINT: "SIGINT", syscall.SIGKILL: "SIGKILL", syscall.SIGPIPE: "SIGPIPE",
	syscall.SIGQUIT: "SIGQUIT", syscall.SIGSEGV: "SIGSEGV", syscall.SIGSYS: "SIGSYS", syscall.SIGTERM: "SIGTERM",
	syscall.SIGTRAP: "SIGTRAP", syscall.SIGUSR1: "SIGUSR1", syscall.SIGUSR2: "SIGUSR2", syscall.SIGXCPU: "SIGXCPU",
	syscall.SIGXFSZ: "SIGXFSZ", syscall.SIGALRM: "SIGALRM",
}

func signalName(sig syscall.Signal) string {
	if name, ok := signalNames[sig]; ok {
		return name
	}
	return fmt.Sprintf("SIG%d", int(sig))
}

func main() {
	// non-dumpable: the program (same uid) cannot open /proc/1/fd/1 or read /proc/1/environ for the frame key
	_, _, _ = syscall.RawSyscall(syscall.SYS_PRCTL, syscall.PR_SET_DUMPABLE, 0, 0)
	out := bufio.NewWriterSize(os.Stdout, 8192)
	s, err := readSettings()
	if err != nil {
		fmt.Fprintln(os.Stderr, "wrapper:", err)
		os.Exit(125)
	}
	f := &framer{out: out, key: s.key, cap: s.outputBytes, kept: map[byte]int64{}, truncated: map[byte]bool{}}
	argv := os.Args[1:]
	if len(argv) > 0 && argv[0] == "--" {
		argv = argv[1:]
	}
	rep := run(s, argv, f)
	f.mu.Lock()
	rep.StdoutTruncated = f.truncated['o']
	rep.StderrTruncated = f.truncated['e']
	f.mu.Unlock()
	data, _ := json.Marshal(rep)
	f.frame('x', data)
	if rep.Error != nil {
		os.Exit(126)
	}
}
