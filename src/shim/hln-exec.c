/*
 * hln-exec: what every captured withExec runs as, so that a step needs nothing from
 * the user's image (no shell, no tee: scratch and distroless images work).
 *
 *   hln-exec [OPTION...] [--] CMD [ARG...]
 *                  run CMD, looked up in the step's PATH as execvp does
 *   -@FILE         read CMD and its arguments from FILE (NUL-terminated strings) instead,
 *                  for an argv too long to quote in engine errors
 *   -xN[,N...]     exit 0 when CMD exits with one of these codes (the step's accepted
 *                  codes, which engines before BuildKit 0.17 cannot check themselves)
 *
 * The command's stdout and stderr go through pipes read by poll, in the order they
 * arrive: each chunk is written to /.hln/out/stdout or /.hln/out/stderr (the capture
 * mount, cached with the step) and to the shim's own stdout, the engine's progress log.
 * Both streams go to that one fd, as a terminal shows them: the engine relays fd 1 and
 * fd 2 through a reader each (and, with containerd, through a shim process), so output
 * written to the two a moment apart reaches the log in either order, and the line a
 * failing command printed last on stderr could land before its stdout and drop out of
 * the error report.
 * When the command ends, what it left in the pipes is drained, its exit status is
 * written to /.hln/out/exit, and the shim exits with it (128+N when killed by signal
 * N, as shells report it), or with 0 when -x accepts it. When the command cannot be started, one line on stderr
 * says why, with 127 when it was not found and 126 otherwise (shell conventions).
 * SIGTERM, SIGINT, SIGHUP and SIGQUIT sent to the shim are passed to the command.
 *
 * Freestanding: no libc, raw syscalls for x86_64 and aarch64, a few KB static.
 * Built by scripts/gen-shim.sh into src/gen/exec-shim.ts.
 */

typedef unsigned long u64;
typedef long i64;
typedef unsigned int u32;

#if defined(__x86_64__)
#define SYS_read 0
#define SYS_write 1
#define SYS_close 3
#define SYS_mmap 9
#define SYS_rt_sigprocmask 14
#define SYS_clone 56
#define SYS_execve 59
#define SYS_wait4 61
#define SYS_kill 62
#define SYS_exit_group 231
#define SYS_openat 257
#define SYS_ppoll 271
#define SYS_signalfd4 289
#define SYS_dup3 292
#define SYS_pipe2 293

static i64 sys6(i64 n, i64 a, i64 b, i64 c, i64 d, i64 e, i64 f) {
  register i64 r10 __asm__("r10") = d;
  register i64 r8 __asm__("r8") = e;
  register i64 r9 __asm__("r9") = f;
  i64 ret;
  __asm__ volatile("syscall"
                   : "=a"(ret)
                   : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                   : "rcx", "r11", "memory");
  return ret;
}

__asm__(".text\n"
        ".global _start\n"
        "_start:\n"
        "  xor %rbp, %rbp\n"
        "  mov %rsp, %rdi\n"
        "  and $-16, %rsp\n"
        "  call start_c\n"
        "  hlt\n");

#elif defined(__aarch64__)
#define SYS_dup3 24
#define SYS_close 57
#define SYS_pipe2 59
#define SYS_read 63
#define SYS_write 64
#define SYS_openat 56
#define SYS_signalfd4 74
#define SYS_ppoll 73
#define SYS_exit_group 94
#define SYS_kill 129
#define SYS_rt_sigprocmask 135
#define SYS_mmap 222
#define SYS_clone 220
#define SYS_execve 221
#define SYS_wait4 260

static i64 sys6(i64 n, i64 a, i64 b, i64 c, i64 d, i64 e, i64 f) {
  register i64 x8 __asm__("x8") = n;
  register i64 x0 __asm__("x0") = a;
  register i64 x1 __asm__("x1") = b;
  register i64 x2 __asm__("x2") = c;
  register i64 x3 __asm__("x3") = d;
  register i64 x4 __asm__("x4") = e;
  register i64 x5 __asm__("x5") = f;
  __asm__ volatile("svc #0"
                   : "+r"(x0)
                   : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5)
                   : "memory");
  return x0;
}

__asm__(".text\n"
        ".global _start\n"
        "_start:\n"
        "  mov x29, #0\n"
        "  mov x30, #0\n"
        "  mov x0, sp\n"
        "  and sp, x0, #-16\n"
        "  bl start_c\n"
        "  brk #0\n");

#else
#error "hln-exec is built for x86_64 and aarch64 only"
#endif

#define sys1(n, a) sys6(n, (i64)(a), 0, 0, 0, 0, 0)
#define sys2(n, a, b) sys6(n, (i64)(a), (i64)(b), 0, 0, 0, 0)
#define sys3(n, a, b, c) sys6(n, (i64)(a), (i64)(b), (i64)(c), 0, 0, 0)
#define sys4(n, a, b, c, d) sys6(n, (i64)(a), (i64)(b), (i64)(c), (i64)(d), 0, 0)

/* errno values and flags, as in the kernel's uapi headers (the same on both arches). */
#define EINTR 4
#define ENOENT 2
#define E2BIG 7
#define ENOEXEC 8
#define EAGAIN 11
#define ENOMEM 12
#define EACCES 13
#define ENOTDIR 20
#define ENODEV 19
#define ELOOP 40
#define ENAMETOOLONG 36
#define ESTALE 116
#define ETIMEDOUT 110
#define ETXTBSY 26
#define EPERM 1
#define EISDIR 21
#define O_RDONLY 0
#define O_WRONLY 1
#define O_CREAT 0100
#define O_TRUNC 01000
#define O_CLOEXEC 02000000
#define AT_FDCWD (-100)
#define POLLIN 0x1
#define POLLHUP 0x10
#define POLLERR 0x8
#define SIGCHLD 17
#define SIG_BLOCK 0
#define SIG_SETMASK 2
#define WNOHANG 1
#define PROT_READ 1
#define PROT_WRITE 2
#define MAP_PRIVATE 2
#define MAP_ANONYMOUS 0x20

struct pollfd {
  int fd;
  short events;
  short revents;
};

/* The compiler may emit calls to these even when freestanding. */
void *memset(void *d, int c, u64 n) {
  unsigned char *p = d;
  while (n--) *p++ = (unsigned char)c;
  return d;
}
void *memcpy(void *d, const void *s, u64 n) {
  unsigned char *p = d;
  const unsigned char *q = s;
  while (n--) *p++ = *q++;
  return d;
}

static u64 slen(const char *s) {
  u64 n = 0;
  while (s[n]) n++;
  return n;
}

static int has_slash(const char *s) {
  for (; *s; s++)
    if (*s == '/') return 1;
  return 0;
}

static void write_all(int fd, const char *p, u64 n) {
  while (n > 0) {
    i64 w = sys3(SYS_write, fd, p, n);
    if (w == -EINTR || w == -EAGAIN) continue;
    if (w <= 0) return; /* a closed reader loses the copy, never the other one */
    p += w;
    n -= (u64)w;
  }
}

static void put(int fd, const char *s) { write_all(fd, s, slen(s)); }

static const char *reason(i64 err) {
  switch (err) {
  case ENOENT: return "no such file or directory";
  case EACCES: return "permission denied";
  case E2BIG: return "argument list too long";
  case ENOEXEC: return "exec format error (not a binary for this platform, nor a script with #!)";
  case ENOMEM: return "out of memory";
  case ENOTDIR: return "not a directory";
  case ELOOP: return "too many levels of symbolic links";
  case ENAMETOOLONG: return "file name too long";
  case ETXTBSY: return "text file busy";
  case EPERM: return "operation not permitted";
  case EISDIR: return "is a directory";
  default: return "cannot execute";
  }
}

static void die(const char *what, const char *name, i64 err, int code) {
  put(2, "hln: ");
  put(2, what);
  put(2, " \"");
  put(2, name);
  put(2, "\": ");
  put(2, reason(err));
  put(2, "\n");
  sys1(SYS_exit_group, code);
  for (;;) {
  }
}

static u64 fmt_int(char *buf, int v) {
  char tmp[12];
  u64 n = 0, i = 0;
  u32 u = v < 0 ? (u32)-v : (u32)v;
  do tmp[n++] = (char)('0' + u % 10);
  while ((u /= 10) != 0);
  if (v < 0) buf[i++] = '-';
  while (n) buf[i++] = tmp[--n];
  buf[i++] = '\n';
  return i;
}

static char *map(u64 size) {
  i64 p = sys6(SYS_mmap, 0, (i64)size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  return p < 0 && p > -4096 ? 0 : (char *)p;
}

/* The PATH of the step's environment, as execvp reads it; BuildKit always sets one. */
static const char *path_of(char **envp) {
  for (; *envp; envp++) {
    const char *e = *envp;
    if (e[0] == 'P' && e[1] == 'A' && e[2] == 'T' && e[3] == 'H' && e[4] == '=') return e + 5;
  }
  return "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
}

/* execve, and for a file the kernel cannot run (ENOEXEC, no #!), /bin/sh FILE as execvp does. */
static i64 try_exec(const char *file, char **argv, char **envp) {
  i64 err = sys3(SYS_execve, file, argv, envp);
  if (err != -ENOEXEC) return -err;
  u64 n = 0;
  while (argv[n]) n++;
  char **sh = (char **)map((n + 2) * sizeof(char *));
  if (!sh) return ENOEXEC;
  sh[0] = "sh";
  sh[1] = (char *)file;
  for (u64 i = 1; i <= n; i++) sh[i + 1] = argv[i];
  if (sys3(SYS_execve, "/bin/sh", sh, envp) == 0) return 0;
  return ENOEXEC;
}

/* In the child: run argv[0] as execvp would, or say why not and exit 127/126. */
static void run(char **argv, char **envp) {
  const char *name = argv[0];
  if (name[0] == 0) die("exec", name, ENOENT, 127);
  if (has_slash(name)) {
    i64 err = try_exec(name, argv, envp);
    die("exec", name, err, err == ENOENT || err == ENOTDIR ? 127 : 126);
  }
  const char *p = path_of(envp);
  u64 nlen = slen(name);
  char buf[4096];
  int denied = 0;
  i64 last = ENOENT;
  for (;;) {
    const char *end = p;
    while (*end && *end != ':') end++;
    u64 dlen = (u64)(end - p);
    if (dlen + 1 + nlen + 1 <= sizeof buf) {
      u64 i = 0;
      /* An empty PATH entry is the working directory, as execvp takes it. */
      if (dlen == 0) buf[i++] = '.';
      memcpy(buf + i, p, dlen);
      i += dlen;
      buf[i++] = '/';
      memcpy(buf + i, name, nlen + 1);
      i64 err = try_exec(buf, argv, envp);
      switch (err) {
      case EACCES: denied = 1; break;
      case ENOENT: case ENOTDIR: case ESTALE: case ENODEV: case ETIMEDOUT: break;
      default: last = err; goto fail;
      }
    }
    if (!*end) break;
    p = end + 1;
  }
  if (denied) die("exec", name, EACCES, 126);
  put(2, "hln: exec \"");
  put(2, name);
  put(2, "\": no such file or directory in PATH\n");
  sys1(SYS_exit_group, 127);
fail:
  die("exec", name, last, 126);
}

/* argv from -@FILE: NUL-terminated strings, at most 4 MiB (hln refuses more). */
static char **read_argv(const char *file) {
  const u64 cap = 4u << 20;
  char *buf = map(cap + 1);
  if (!buf) die("read", file, ENOMEM, 126);
  i64 fd = sys4(SYS_openat, AT_FDCWD, file, O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0) die("read", file, -fd, 126);
  u64 n = 0;
  for (;;) {
    i64 r = sys3(SYS_read, fd, buf + n, cap - n);
    if (r == -EINTR) continue;
    if (r < 0) die("read", file, -r, 126);
    if (r == 0) break;
    n += (u64)r;
    if (n == cap) die("read", file, E2BIG, 126);
  }
  sys1(SYS_close, fd);
  u64 count = 0;
  for (u64 i = 0; i < n; i++)
    if (buf[i] == 0) count++;
  char **argv = (char **)map((count + 1) * sizeof(char *));
  if (!argv || count == 0) die("read", file, ENOEXEC, 126);
  u64 k = 0, start = 0;
  for (u64 i = 0; i < n; i++)
    if (buf[i] == 0) {
      argv[k++] = buf + start;
      start = i + 1;
    }
  argv[k] = 0;
  return argv;
}

static int open_out(const char *path) {
  i64 fd = sys4(SYS_openat, AT_FDCWD, path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  return fd < 0 ? -1 : (int)fd;
}

/* Copies what is in pipe `fd` to `out` and `file`; 0 at end of stream. */
static int pump(int fd, int out, int file, char *buf, u64 size) {
  for (;;) {
    i64 r = sys3(SYS_read, fd, buf, size);
    if (r == -EINTR) continue;
    if (r <= 0) return 0;
    write_all(out, buf, (u64)r);
    if (file >= 0) write_all(file, buf, (u64)r);
    return 1;
  }
}

static char iobuf[65536];
static unsigned char accepted[256];

/* -x0,3,7: the codes that count as success. */
static void parse_codes(const char *s) {
  while (*s) {
    u32 v = 0;
    const char *start = s;
    while (*s >= '0' && *s <= '9' && v < 256) v = v * 10 + (u32)(*s++ - '0');
    if (s == start || v > 255 || (*s && *s != ',')) {
      put(2, "hln-exec: -x takes exit codes 0-255 separated by commas\n");
      sys1(SYS_exit_group, 125);
    }
    accepted[v] = 1;
    if (*s == ',') s++;
  }
}

__attribute__((used)) void start_c(i64 *sp) {
  int argc = (int)sp[0];
  char **argv = (char **)(sp + 1);
  char **envp = argv + argc + 1;
  char **cmd = argv + 1;
  const char *argv_file = 0;
  int checks_codes = 0;
  for (; *cmd && (*cmd)[0] == '-'; cmd++) {
    const char *o = *cmd;
    if (o[1] == '-' && o[2] == 0) {
      cmd++;
      break;
    } else if (o[1] == '@') {
      argv_file = o + 2;
    } else if (o[1] == 'x') {
      parse_codes(o + 2);
      checks_codes = 1;
    } else {
      break;
    }
  }
  if (argv_file) cmd = read_argv(argv_file);
  if (!*cmd) {
    put(2, "usage: hln-exec [-@ARGV-FILE] [-xCODES] [--] CMD [ARG...]\n");
    sys1(SYS_exit_group, 125);
  }

  /* Signals for the command arrive through a signalfd; the command gets the old mask. */
  u64 sigs = (1ul << (1 - 1)) | (1ul << (2 - 1)) | (1ul << (3 - 1)) | (1ul << (15 - 1)) |
             (1ul << (SIGCHLD - 1));
  u64 oldmask = 0;
  sys4(SYS_rt_sigprocmask, SIG_BLOCK, &sigs, &oldmask, 8);
  i64 sfd = sys4(SYS_signalfd4, -1, &sigs, 8, O_CLOEXEC);

  int out[2], err[2];
  if (sys2(SYS_pipe2, out, O_CLOEXEC) < 0 || sys2(SYS_pipe2, err, O_CLOEXEC) < 0)
    die("pipe for", cmd[0], ENOMEM, 126);
  i64 pid = sys6(SYS_clone, SIGCHLD, 0, 0, 0, 0, 0);
  if (pid < 0) die("fork for", cmd[0], -pid, 126);
  if (pid == 0) {
    sys4(SYS_rt_sigprocmask, SIG_SETMASK, &oldmask, 0, 8);
    sys3(SYS_dup3, out[1], 1, 0);
    sys3(SYS_dup3, err[1], 2, 0);
    run(cmd, envp);
  }
  sys1(SYS_close, out[1]);
  sys1(SYS_close, err[1]);

  int files[2] = {open_out("/.hln/out/stdout"), open_out("/.hln/out/stderr")};
  struct pollfd fds[3] = {
      {out[0], POLLIN, 0},
      {err[0], POLLIN, 0},
      {(int)sfd, POLLIN, 0},
  };
  int open_pipes = 2;
  int status = 0, reaped = 0;
  /* Until the command has exited and both pipes are at their end. A process the command
     left in the background may hold a pipe open: once the command is gone, what is
     already in the pipes is read and the rest is not waited for. */
  while (open_pipes > 0) {
    i64 ready;
    if (reaped) {
      struct { i64 s, ns; } zero = {0, 0};
      ready = sys6(SYS_ppoll, (i64)fds, 2, (i64)&zero, 0, 0, 0);
      if (ready == 0) break;
    } else if (sfd >= 0) {
      ready = sys6(SYS_ppoll, (i64)fds, 3, 0, 0, 0, 0);
    } else {
      /* No signalfd (a kernel without it): look for the command's exit now and then. */
      struct { i64 s, ns; } tick = {0, 50000000};
      ready = sys6(SYS_ppoll, (i64)fds, 2, (i64)&tick, 0, 0, 0);
    }
    if (ready == -EINTR) continue;
    if (ready < 0) break;
    for (int i = 0; i < 2; i++) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      if (!pump(fds[i].fd, 1, files[i], iobuf, sizeof iobuf)) {
        sys1(SYS_close, fds[i].fd);
        fds[i].fd = -1;
        open_pipes--;
      }
    }
    if (sfd >= 0 && !reaped && (fds[2].revents & POLLIN)) {
      u32 info[32]; /* struct signalfd_siginfo: ssi_signo first, 128 bytes */
      if (sys3(SYS_read, sfd, info, sizeof info) > 0) {
        if (info[0] != SIGCHLD) sys2(SYS_kill, pid, info[0]);
      }
    }
    if (!reaped && sys4(SYS_wait4, pid, &status, WNOHANG, 0) == pid) reaped = 1;
  }
  while (!reaped) {
    i64 r = sys4(SYS_wait4, pid, &status, 0, 0);
    if (r == pid) reaped = 1;
    else if (r != -EINTR) break;
  }
  int code = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f);
  int ex = open_out("/.hln/out/exit");
  if (ex >= 0) {
    char num[16];
    write_all(ex, num, fmt_int(num, code));
  }
  sys1(SYS_exit_group, checks_codes && accepted[code & 0xff] && code < 256 ? 0 : code);
}
