/* A shell command whose standard output is read without blocking, so a scheduler task or
 * an OpenResty request can wait for it by polling (sched.sleep between reads) instead of
 * freezing the Lua state as io.popen does.
 *
 *   proc, err = core.spawn_shell(command)   -- /bin/sh -c command, stdin from /dev/null,
 *                                           -- stderr inherited, stdout to a pipe
 *   chunk, state = proc:read()   -- chunk (string), or nil and "again" | "eof" | message
 *   proc:close()                 -- closes the pipe and reaps the child (idempotent); a
 *                                -- child still running is killed with its process group
 *
 * The exit status is deliberately not read with waitpid: an nginx worker reaps any child
 * in its SIGCHLD handler. Callers that need it print it from the shell (see credentials).
 * close() only signals a child that waitpid still reports as ours, so a pid that was
 * reaped elsewhere and reused is never touched. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "compat.h"

#define PROCESS_MT "gameliftstreams.process"
#define READ_CHUNK 16384

extern char **environ;

typedef struct lprocess {
  int fd;      /* read end of the child's stdout, -1 once closed */
  pid_t pid;   /* 0 once reaped (or never started) */
} lprocess;

static lprocess *checkproc(lua_State *L) {
  return (lprocess *)luaL_checkudata(L, 1, PROCESS_MT);
}

static void reap(lprocess *p) {
  int status;
  pid_t r;
  if (p->pid <= 0) return;
  do r = waitpid(p->pid, &status, WNOHANG); while (r < 0 && errno == EINTR);
  if (r == 0) {
    /* still ours and not finished: it is not wanted any more, nor what it started */
    kill(-p->pid, SIGKILL);
    kill(p->pid, SIGKILL);
    do r = waitpid(p->pid, &status, 0); while (r < 0 && errno == EINTR);
  }
  p->pid = 0; /* reaped here, or (ECHILD) by someone else */
}

static int lproc_close(lua_State *L) {
  lprocess *p = checkproc(L);
  if (p->fd >= 0) {
    close(p->fd);
    p->fd = -1;
  }
  reap(p);
  return 0;
}

static int lproc_read(lua_State *L) {
  lprocess *p = checkproc(L);
  char buf[READ_CHUNK];
  ssize_t n;
  if (p->fd < 0) {
    lua_pushnil(L);
    lua_pushliteral(L, "closed");
    return 2;
  }
  do n = read(p->fd, buf, sizeof buf); while (n < 0 && errno == EINTR);
  if (n > 0) {
    lua_pushlstring(L, buf, (size_t)n);
    return 1;
  }
  lua_pushnil(L);
  if (n == 0) lua_pushliteral(L, "eof");
  else if (errno == EAGAIN || errno == EWOULDBLOCK) lua_pushliteral(L, "again");
  else lua_pushstring(L, strerror(errno));
  return 2;
}

static int lproc_tostring(lua_State *L) {
  lprocess *p = checkproc(L);
  if (p->fd < 0) lua_pushliteral(L, "gameliftstreams process (closed)");
  else lua_pushfstring(L, "gameliftstreams process (pid %d)", (int)p->pid);
  return 1;
}

static int l_spawn_shell(lua_State *L) {
  const char *cmd = luaL_checkstring(L, 1);
  char *argv[4];
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  int fds[2], rc;
  pid_t pid;
  lprocess *p = (lprocess *)lua_newuserdata(L, sizeof *p);
  p->fd = -1;
  p->pid = 0;
  luaL_getmetatable(L, PROCESS_MT);
  lua_setmetatable(L, -2);

  if (pipe(fds) != 0) {
    lua_pushnil(L);
    lua_pushfstring(L, "cannot make a pipe: %s", strerror(errno));
    return 2;
  }
  fcntl(fds[0], F_SETFD, FD_CLOEXEC);
  if ((rc = posix_spawnattr_init(&attr)) != 0) goto fail_pipe;
  if ((rc = posix_spawn_file_actions_init(&fa)) != 0) {
    posix_spawnattr_destroy(&attr);
    goto fail_pipe;
  }
  /* its own process group, so close() can stop the command's children too */
  rc = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
  if (!rc) rc = posix_spawnattr_setpgroup(&attr, 0);
  if (!rc) rc = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  if (!rc && fds[1] != 1) rc = posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
  if (!rc) rc = posix_spawn_file_actions_addclose(&fa, fds[0]);
  if (!rc && fds[1] != 1) rc = posix_spawn_file_actions_addclose(&fa, fds[1]);
  if (!rc) {
    argv[0] = (char *)"sh";
    argv[1] = (char *)"-c";
    argv[2] = (char *)cmd;
    argv[3] = NULL;
    rc = posix_spawn(&pid, "/bin/sh", &fa, &attr, argv, environ);
  }
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) goto fail_pipe;
  close(fds[1]);
  fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK);
  p->fd = fds[0];
  p->pid = pid;
  return 1;

fail_pipe:
  close(fds[0]);
  close(fds[1]);
  lua_pushnil(L);
  lua_pushfstring(L, "cannot start /bin/sh: %s", strerror(rc));
  return 2;
}

static const luaL_Reg process_methods[] = {
  {"read", lproc_read},
  {"close", lproc_close},
  {NULL, NULL},
};

void gls_open_process(lua_State *L) {
  gls_register_class(L, PROCESS_MT, process_methods, lproc_close, lproc_tostring);
  lua_pushcfunction(L, l_spawn_shell);
  lua_setfield(L, -2, "spawn_shell");
}
