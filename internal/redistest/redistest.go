// Package redistest starts real redis-server processes for tests: one
// instance, several, or a Redis Cluster of three masters made with
// redis-cli --cluster create, each on a free loopback port in a temp dir,
// stopped by pid at test cleanup. A test that needs them skips when
// redis-server is not installed, or fails when SESSTOOL_REQUIRE_PHP=1
// (CI installs it with PHP).
package redistest

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sesstool/sesstool/internal/phptest"
)

// WaitTimeout bounds how long a server may take to start: a safety net,
// not an assertion.
const WaitTimeout = 30 * time.Second

// Server is one running redis-server.
type Server struct {
	Addr string // 127.0.0.1:PORT
	Port int
	// TLSAddr is 127.0.0.1:TLSPORT on a server made by StartTLS.
	TLSAddr string
	Dir     string // its working directory (logs)
	Pid     int
}

// Binary returns the path of a Redis program (redis-server, redis-cli), or
// skips the test (fails it under SESSTOOL_REQUIRE_PHP=1).
func Binary(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		msg := fmt.Sprintf("%s not installed (apt-get install redis-server)", name)
		if os.Getenv(phptest.RequireEnv) == "1" {
			t.Fatalf("%s (%s=1, so this is a failure, not a skip)", msg, phptest.RequireEnv)
		}
		t.Skip(msg)
	}
	return p
}

// freePort returns a loopback port nothing listens on now.
func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("redistest: find a free port: %v", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// Start runs one redis-server with extra config lines ("notify-keyspace-events
// KEA", ...) and waits until it answers PING.
func Start(t testing.TB, extra ...string) *Server {
	t.Helper()
	return start(t, extra)
}

func start(t testing.TB, extra []string) *Server {
	t.Helper()
	bin := Binary(t, "redis-server")
	dir := t.TempDir()
	port := freePort(t)
	conf := []string{
		"port " + strconv.Itoa(port),
		"bind 127.0.0.1",
		"save \"\"",
		"appendonly no",
		"dir " + dir,
		"logfile " + filepath.Join(dir, "redis.log"),
		"daemonize no",
	}
	conf = append(conf, extra...)
	cf := filepath.Join(dir, "redis.conf")
	if err := os.WriteFile(cf, []byte(strings.Join(conf, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, cf)
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("redistest: start redis-server: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = syscall.Kill(cmd.Process.Pid, syscall.SIGKILL)
		<-exited
	})
	s := &Server{Addr: "127.0.0.1:" + strconv.Itoa(port), Port: port, Dir: dir, Pid: cmd.Process.Pid}
	deadline := time.Now().Add(WaitTimeout)
	for {
		if err := s.ping(); err == nil {
			return s
		}
		select {
		case err := <-exited:
			log, _ := os.ReadFile(filepath.Join(dir, "redis.log"))
			t.Fatalf("redistest: redis-server exited: %v\n%s", err, log)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("redistest: redis-server on %s did not answer within %v", s.Addr, WaitTimeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ping sends one PING in RESP.
func (s *Server) ping() error {
	c, err := net.DialTimeout("tcp", s.Addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "+PONG") {
		return fmt.Errorf("PING answered %q", line)
	}
	return nil
}

// Cli runs redis-cli against s with args and returns its output.
func (s *Server) Cli(t testing.TB, args ...string) string {
	t.Helper()
	bin := Binary(t, "redis-cli")
	out, err := exec.Command(bin, append([]string{"-h", "127.0.0.1", "-p", strconv.Itoa(s.Port)}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("redis-cli %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// Cluster is a running Redis Cluster.
type Cluster struct {
	Masters []*Server
}

// Seeds is the masters' addresses.
func (c *Cluster) Seeds() []string {
	var s []string
	for _, m := range c.Masters {
		s = append(s, m.Addr)
	}
	return s
}

// StartCluster runs three masters with cluster-enabled, joins them with
// redis-cli --cluster create (no replicas) and waits until the cluster
// state is ok on every node.
func StartCluster(t testing.TB, extra ...string) *Cluster {
	t.Helper()
	cli := Binary(t, "redis-cli")
	c := &Cluster{}
	for range 3 {
		c.Masters = append(c.Masters, start(t, append([]string{"cluster-enabled yes", "cluster-config-file nodes.conf", "cluster-node-timeout 5000"}, extra...)))
	}
	args := append([]string{"--cluster", "create"}, c.Seeds()...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	if out, err := exec.Command(cli, args...).CombinedOutput(); err != nil {
		t.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	deadline := time.Now().Add(WaitTimeout)
	for {
		ok := true
		for _, m := range c.Masters {
			out, _ := exec.Command(cli, "-p", strconv.Itoa(m.Port), "cluster", "info").Output()
			if !strings.Contains(string(out), "cluster_state:ok") {
				ok = false
			}
		}
		if ok {
			return c
		}
		if time.Now().After(deadline) {
			t.Fatalf("redistest: cluster not ok within %v", WaitTimeout)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// StartTLS runs a redis-server that speaks TLS only, with a certificate
// for 127.0.0.1 made here; caFile is that certificate (PEM), for a client
// to trust (SSL_CERT_FILE).
func StartTLS(t testing.TB) (s *Server, caFile string) {
	t.Helper()
	dir := t.TempDir()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "127.0.0.1"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	caFile = filepath.Join(dir, "cert.pem")
	keyFile := filepath.Join(dir, "key.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	// The plain port answers the readiness PING; clients use TLSPort.
	tlsPort := freePort(t)
	s = start(t, []string{"tls-port " + strconv.Itoa(tlsPort), "tls-cert-file " + caFile, "tls-key-file " + keyFile, "tls-ca-cert-file " + caFile, "tls-auth-clients no"})
	s.TLSAddr = "127.0.0.1:" + strconv.Itoa(tlsPort)
	return s, caFile
}
