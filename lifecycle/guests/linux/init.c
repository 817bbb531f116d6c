// SPDX-License-Identifier: MIT
/*
 * /init of the numbavm Linux guest: a tiny interactive shell with built-in
 * commands only (there is nothing else in the initramfs to run).
 *
 * Built by lifecycle/guests/linux/build.sh against the kernel's own nolibc
 * (tools/include/nolibc), which provides _start, the syscall wrappers and a
 * minimal stdio; the few syscalls it lacks in 6.1 (uname, sync,
 * clock_gettime, sethostname, syslog) are made with its my_syscallN macros.
 *
 * PID 1 must never return: every path ends in reboot(2) or loops.
 */
#include <linux/utsname.h>

#define LINE_MAX_LEN 256
#define MAX_ARGS     16
#define SIEVE_MAX    (1 << 22)

static char sieve[SIEVE_MAX]; /* bench's work area (bss: pages appear as touched) */
static char dent_buf[4096];   /* getdents64 buffer for ls */
static char log_buf[1 << 16]; /* dmesg: the newest 64 KiB of the kernel log */

/* ---- syscalls that the 6.1 nolibc has no wrapper for ------------------ */

static int sys_uname_(struct new_utsname *u) { return my_syscall1(__NR_uname, u); }
static void sys_sync_(void) { my_syscall0(__NR_sync); }
static int sys_sethostname_(const char *n, int len) { return my_syscall2(__NR_sethostname, n, len); }
static int sys_syslog_(int type, char *buf, int len) { return my_syscall3(__NR_syslog, type, buf, len); }
static int sys_clock_gettime_(int clk, struct timespec *ts)
{
	return my_syscall2(__NR_clock_gettime, clk, ts);
}

/* Monotonic time in microseconds, or -1 when the kernel has no clock. */
static long now_us(void)
{
	struct timespec ts;

	if (sys_clock_gettime_(1 /* CLOCK_MONOTONIC */, &ts) < 0)
		return -1;
	return ts.tv_sec * 1000000L + ts.tv_nsec / 1000;
}

/* Print a C string, or a message for a failed call with the errno value. */
static void say(const char *s) { fputs(s, stdout); }
static void fail(const char *what, const char *arg, int ret)
{
	printf("%s: %s: error %d\n", what, arg, -ret);
}

/* ---- the built-in commands -------------------------------------------- */

static void cmd_help(void)
{
	say("built-in commands:\n"
	    "  help            this list\n"
	    "  echo ARGS...    print the arguments\n"
	    "  cat FILE...     print files (try /etc/hello.txt, /proc/cpuinfo)\n"
	    "  ls [DIR]        list a directory (default /)\n"
	    "  hexdump FILE [N] the first N bytes of FILE in hex (default 64),\n"
	    "                  e.g. /dev/vda (virtio-blk) or /dev/hwrng (virtio-rng)\n"
	    "  uname [-a]      kernel name (-a: name, node, release, version, machine)\n"
	    "  dmesg           print the kernel log\n"
	    "  bench [N]       count the primes below N (default 1000000) and time it\n"
	    "  poweroff        sync and power the machine off (also on end of input)\n"
	    "  reboot          sync and restart the machine\n");
}

static void cmd_echo(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		printf("%s%s", i > 1 ? " " : "", argv[i]);
	say("\n");
}

static void cmd_cat(int argc, char **argv)
{
	char buf[512];

	for (int i = 1; i < argc; i++) {
		int fd = sys_open(argv[i], O_RDONLY, 0);
		ssize_t n;

		if (fd < 0) {
			fail("cat", argv[i], fd);
			continue;
		}
		while ((n = sys_read(fd, buf, sizeof(buf))) > 0)
			sys_write(1, buf, n);
		if (n < 0)
			fail("cat", argv[i], n);
		sys_close(fd);
	}
}

static void cmd_ls(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : "/";
	int fd = sys_open(dir, O_RDONLY | O_DIRECTORY, 0);
	int n, sep = 0;

	if (fd < 0) {
		fail("ls", dir, fd);
		return;
	}
	while ((n = sys_getdents64(fd, (void *)dent_buf, sizeof(dent_buf))) > 0) {
		for (int off = 0; off < n;) {
			struct linux_dirent64 *d = (void *)(dent_buf + off);

			off += d->d_reclen;
			if (!strcmp(d->d_name, ".") || !strcmp(d->d_name, ".."))
				continue;
			printf("%s%s%s", sep++ ? "  " : "", d->d_name,
			       d->d_type == DT_DIR ? "/" : "");
		}
	}
	if (n < 0)
		fail("ls", dir, n);
	if (sep)
		say("\n");
	sys_close(fd);
}

static void cmd_hexdump(int argc, char **argv)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char buf[16];
	long want = argc > 2 ? atol(argv[2]) : 64, off = 0;
	int fd;

	if (argc < 2) {
		say("usage: hexdump FILE [N]\n");
		return;
	}
	fd = sys_open(argv[1], O_RDONLY, 0);
	if (fd < 0) {
		fail("hexdump", argv[1], fd);
		return;
	}
	while (off < want) {
		long chunk = want - off < 16 ? want - off : 16;
		ssize_t n = sys_read(fd, buf, chunk);
		char line[80], *q = line;

		if (n < 0)
			fail("hexdump", argv[1], n);
		if (n <= 0)
			break;
		/* "00000010  xx xx ...  |text|" like hexdump -C, without the gap */
		for (int sh = 28; sh >= 0; sh -= 4)
			*q++ = hex[(off >> sh) & 15];
		*q++ = ' ';
		for (int i = 0; i < 16; i++) {
			*q++ = ' ';
			*q++ = i < n ? hex[buf[i] >> 4] : ' ';
			*q++ = i < n ? hex[buf[i] & 15] : ' ';
		}
		*q++ = ' ';
		*q++ = ' ';
		*q++ = '|';
		for (int i = 0; i < n; i++)
			*q++ = buf[i] >= 32 && buf[i] < 127 ? buf[i] : '.';
		*q++ = '|';
		*q++ = '\n';
		sys_write(1, line, q - line);
		off += n;
	}
	sys_close(fd);
}

static void cmd_uname(int argc, char **argv)
{
	struct new_utsname u;
	int ret = sys_uname_(&u);

	if (ret < 0) {
		fail("uname", "uname", ret);
		return;
	}
	if (argc > 1 && !strcmp(argv[1], "-a"))
		printf("%s %s %s %s %s\n", u.sysname, u.nodename, u.release,
		       u.version, u.machine);
	else
		printf("%s\n", u.sysname);
}

static void cmd_dmesg(void)
{
	int n = sys_syslog_(3 /* SYSLOG_ACTION_READ_ALL */, log_buf, sizeof(log_buf));

	if (n < 0)
		fail("dmesg", "syslog", n);
	else
		sys_write(1, log_buf, n);
}

/* A sieve of Eratosthenes: integer loads, stores and branches only. */
static void cmd_bench(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 1000000;
	long t0, t1, count = 0;

	if (n < 2 || n > SIEVE_MAX) {
		printf("bench: N must be 2..%d\n", SIEVE_MAX);
		return;
	}
	t0 = now_us();
	memset(sieve, 1, n);
	for (long i = 2; i * i < n; i++)
		if (sieve[i])
			for (long j = i * i; j < n; j += i)
				sieve[j] = 0;
	for (long i = 2; i < n; i++)
		count += sieve[i];
	t1 = now_us();
	printf("bench: primes below %ld = %ld", n, count);
	if (t0 >= 0 && t1 >= 0) {
		long us = t1 - t0;
		/* nolibc's printf has no field widths: pad the fraction by hand */
		printf(" in %ld.%s%ld ms", us / 1000,
		       us % 1000 < 10 ? "00" : us % 1000 < 100 ? "0" : "", us % 1000);
	}
	say("\n");
}

static void power(int cmd, const char *what)
{
	sys_sync_();
	int ret = reboot(cmd);
	/* only reached when the kernel refused */
	printf("%s: failed (errno %d)\n", what, ret < 0 ? errno : 0);
}

/* ---- the shell loop ---------------------------------------------------- */

/*
 * Read one line from fd 0 into buf (without '\n'); -1 on end of input. On
 * the serial console "end of input" is the tty's EOF character, ^D (0x04)
 * at the start of a line: a UART itself never ends.
 */
static int read_line(char *buf, int size)
{
	int len = 0;
	char c;

	for (;;) {
		ssize_t n = sys_read(0, &c, 1);

		if (n <= 0)
			return len ? len : -1; /* EOF (or an error): end of input */
		if (c == '\n' || c == '\r')
			break;
		if (len + 1 < size)
			buf[len++] = c;
	}
	buf[len] = 0;
	return len;
}

/* Split line in place at blanks; returns the number of words. */
static int split(char *line, char **argv)
{
	int argc = 0;

	while (*line && argc < MAX_ARGS) {
		while (*line == ' ' || *line == '\t')
			*line++ = 0;
		if (!*line)
			break;
		argv[argc++] = line;
		while (*line && *line != ' ' && *line != '\t')
			line++;
	}
	return argc;
}

int main(int argc, char **argv, char **envp)
{
	static char line[LINE_MAX_LEN];
	char *av[MAX_ARGS];
	int ret;

	(void)argc; (void)argv; (void)envp;
	ret = mount("proc", "/proc", "proc", 0, 0);
	if (ret < 0)
		printf("init: mount /proc failed (errno %d)\n", errno);
	/* Optional: with devtmpfs, /dev gains vda, hwrng, hvc0 ... (the cpio's
	 * /dev/console stays open as fds 0-2 either way). */
	mount("devtmpfs", "/dev", "devtmpfs", 0, 0);
	mount("sysfs", "/sys", "sysfs", 0, 0);
	sys_sethostname_("numbavm", 7);

	say("\nnumbavm Linux guest: type help\n");
	for (;;) {
		say("~ # ");
		if (read_line(line, sizeof(line)) < 0) {
			say("\ninit: end of input, powering off\n");
			power(LINUX_REBOOT_CMD_POWER_OFF, "poweroff");
			for (;;)
				sched_yield();
		}
		int ac = split(line, av);
		if (ac == 0)
			continue;
		const char *cmd = av[0];
		if (!strcmp(cmd, "help"))
			cmd_help();
		else if (!strcmp(cmd, "echo"))
			cmd_echo(ac, av);
		else if (!strcmp(cmd, "cat"))
			cmd_cat(ac, av);
		else if (!strcmp(cmd, "ls"))
			cmd_ls(ac, av);
		else if (!strcmp(cmd, "hexdump"))
			cmd_hexdump(ac, av);
		else if (!strcmp(cmd, "uname"))
			cmd_uname(ac, av);
		else if (!strcmp(cmd, "dmesg"))
			cmd_dmesg();
		else if (!strcmp(cmd, "bench"))
			cmd_bench(ac, av);
		else if (!strcmp(cmd, "poweroff"))
			power(LINUX_REBOOT_CMD_POWER_OFF, "poweroff");
		else if (!strcmp(cmd, "reboot"))
			power(LINUX_REBOOT_CMD_RESTART, "reboot");
		else
			printf("%s: unknown command (type help)\n", cmd);
	}
}
