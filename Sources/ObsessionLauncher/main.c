/* obsession: the command. Runs a single .swift file as a CGI script (or FastCGI server) from a
   private cache of compiled scripts, builds one ahead of time, and hands every other
   subcommand to obsession-tool, the Swift program beside it.

       obsession script FILE.swift [ARGUMENTS...]    compile if needed, then run
       obsession build FILE.swift -o PROGRAM         compile ahead of time
       obsession gc …                                (and the rest: obsession-tool)

   Written in C because a script's every request starts it: it must cost next to nothing
   before the compiled script starts (a Swift program pays its runtime's start, about 2 ms).
   What to compile with comes from the installation: LIB/swiftc-arguments, one argument a line,
   the first the compiler, after comment lines (#) that name the library's version and the
   compiler's, written by `make install`; LIB is ../lib/obsession beside this program's
   directory. A script's cache key covers that file whole: a new library or compiler compiles
   every script again. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void fail(const char *format, const char *detail) {
    fprintf(stderr, "obsession: ");
    fprintf(stderr, format, detail);
    fputc('\n', stderr);
    exit(2);
}

/* A command line it cannot take: EX_USAGE, as obsession-tool's. */
static void usage(const char *line) {
    fprintf(stderr, "obsession: usage: %s\n", line);
    exit(64);
}

/* The whole of a file, NUL-terminated; `size` gets its length. Fails the command if it cannot. */
static char *read_file(const char *path, size_t *size) {
    int file = open(path, O_RDONLY | O_CLOEXEC);
    if (file < 0) fail("cannot read %s", path);
    struct stat status;
    if (fstat(file, &status) != 0 || !S_ISREG(status.st_mode)) fail("%s is not a regular file", path);
    char *bytes = malloc((size_t)status.st_size + 1);
    size_t filled = 0;
    while (bytes && filled < (size_t)status.st_size) {
        ssize_t count = read(file, bytes + filled, (size_t)status.st_size - filled);
        if (count < 0 && errno == EINTR) continue;
        if (count <= 0) break;
        filled += (size_t)count;
    }
    close(file);
    if (!bytes || filled != (size_t)status.st_size) fail("cannot read %s", path);
    bytes[filled] = 0;
    *size = filled;
    return bytes;
}

/* Two FNV-1a 64 hashes of different bases side by side: 128 bits that name a script's content
   and what it is compiled with. A cache key, not a defence: the cache is the user's own. */
struct key { uint64_t high, low; };

static void add(struct key *key, const char *bytes, size_t count) {
    for (size_t index = 0; index < count; index++) {
        key->high = (key->high ^ (unsigned char)bytes[index]) * 0x100000001b3ULL;
        key->low = (key->low ^ (unsigned char)bytes[index]) * 0x100000001b3ULL;
    }
    /* The length too, so that two parts cannot trade bytes across their boundary. */
    key->high = (key->high ^ count) * 0x100000001b3ULL;
    key->low = (key->low ^ count) * 0x100000001b3ULL;
}

/* LIB: the installation's library directory, ../lib/obsession beside this program. */
static void library_directory(char *lib) {
    char self[PATH_MAX];
    ssize_t length = readlink("/proc/self/exe", self, sizeof self - 1);
    if (length <= 0) fail("cannot find %s", "/proc/self/exe");
    self[length] = 0;
    snprintf(lib, PATH_MAX, "%s/../lib/obsession", dirname(self));
}

/* The cache: $OBSESSION_CACHE, else $XDG_CACHE_HOME/obsession-scripts, else
   $HOME/.cache/obsession-scripts, else /tmp/obsession-scripts-UID. Made 0700 if missing; one
   of another user, or that others may enter, is refused: they could swap a compiled script. */
static void cache_directory(char *cache) {
    const char *explicit = getenv("OBSESSION_CACHE"), *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    if (explicit && *explicit) snprintf(cache, PATH_MAX, "%s", explicit);
    else if (xdg && *xdg) snprintf(cache, PATH_MAX, "%s/obsession-scripts", xdg);
    else if (home && *home && strcmp(home, "/") != 0) {
        char parent[PATH_MAX];
        snprintf(parent, sizeof parent, "%s/.cache", home);
        mkdir(parent, 0700);
        snprintf(cache, PATH_MAX, "%s/obsession-scripts", parent);
    } else snprintf(cache, PATH_MAX, "/tmp/obsession-scripts-%u", (unsigned)geteuid());
    if (mkdir(cache, 0700) != 0 && errno != EEXIST) fail("cannot make the cache %s", cache);
    struct stat status;
    if (lstat(cache, &status) != 0 || !S_ISDIR(status.st_mode)) fail("the cache %s is not a directory", cache);
    if (status.st_uid != geteuid()) fail("the cache %s belongs to another user: refused", cache);
    if ((status.st_mode & 0077) != 0) fail("the cache %s may be entered by other users (chmod 700 it): refused", cache);
}

/* Compiles `script` into `output` with the installation's arguments, its module cache in
   `modules` (the compiler's default is under $HOME, which a CGI user may lack); the compiler's
   messages go to `messages` (a descriptor). Returns the compiler's status. */
static int compile(const char *lib, const char *script, const char *output, const char *modules, int messages) {
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/swiftc-arguments", lib);
    size_t size;
    char *text = read_file(path, &size);
    char *arguments[256];
    int count = 0;
    for (char *line = strtok(text, "\n"); line && count < 250; line = strtok(NULL, "\n")) {
        if (line[0] != '#') arguments[count++] = line;
    }
    if (count == 0) fail("%s names no compiler", path);
    char library_search[PATH_MAX + 2], module_search[PATH_MAX + 2];
    snprintf(module_search, sizeof module_search, "-I%s/modules", lib);
    snprintf(library_search, sizeof library_search, "-L%s", lib);
    arguments[count++] = module_search;
    arguments[count++] = library_search;
    arguments[count++] = "-module-cache-path";
    arguments[count++] = (char *)modules;
    arguments[count++] = (char *)script;
    arguments[count++] = "-o";
    arguments[count++] = (char *)output;
    arguments[count] = NULL;
    pid_t child = fork();
    if (child < 0) fail("cannot start the compiler %s", arguments[0]);
    if (child == 0) {
        dup2(messages, STDOUT_FILENO);
        dup2(messages, STDERR_FILENO);
        /* The script's own stdin is the request's body: the compiler gets none of it. */
        int nothing = open("/dev/null", O_RDONLY);
        if (nothing >= 0) dup2(nothing, STDIN_FILENO);
        execv(arguments[0], arguments);
        dprintf(messages, "obsession: cannot run the compiler %s: %s\n", arguments[0], strerror(errno));
        _exit(127);
    }
    int status = 0;
    while (waitpid(child, &status, 0) < 0 && errno == EINTR) {}
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Copies the descriptor `from`, from its start, to stderr. */
static void show(int from) {
    char buffer[4096];
    ssize_t count;
    lseek(from, 0, SEEK_SET);
    while ((count = read(from, buffer, sizeof buffer)) > 0) {
        if (write(STDERR_FILENO, buffer, (size_t)count) < 0) break;
    }
}

/* `obsession script FILE [ARGUMENTS...]`: runs the compiled FILE from the cache, compiling it
   first when no compilation of this content, compiler and library is there. The compiler's
   rejection is kept too, and its messages shown again without compiling again; any other
   failure (no compiler, a compile killed half-way) is tried again on the next run. Two first
   runs at once compile once: the second waits on the first's lock. */
static int script(int argc, char **argv) {
    if (argc < 3) usage("obsession script FILE.swift [ARGUMENTS...]");
    const char *file = argv[2];
    char lib[PATH_MAX], cache[PATH_MAX], compiled[PATH_MAX + 64], messages[PATH_MAX + 64], lock[PATH_MAX + 64];
    library_directory(lib);
    struct key key = { 0xcbf29ce484222325ULL, 0x84222325cbf29ce4ULL };
    size_t size;
    char *source = read_file(file, &size);
    add(&key, source, size);
    free(source);
    char arguments[PATH_MAX + 32];
    snprintf(arguments, sizeof arguments, "%s/swiftc-arguments", lib);
    source = read_file(arguments, &size);
    add(&key, source, size);
    free(source);
    cache_directory(cache);
    snprintf(compiled, sizeof compiled, "%s/%016llx%016llx", cache, (unsigned long long)key.high, (unsigned long long)key.low);
    snprintf(messages, sizeof messages, "%s.messages", compiled);
    snprintf(lock, sizeof lock, "%s.lock", compiled);
    char modules[PATH_MAX + 16];
    snprintf(modules, sizeof modules, "%s/module-cache", cache);
    if (access(compiled, X_OK) != 0) {
        int held = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (held < 0 || flock(held, LOCK_EX) != 0) fail("cannot lock %s", lock);
        int failed = open(messages, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (failed >= 0) {
            show(failed);
            return 1;
        }
        if (access(compiled, X_OK) != 0) {
            /* Both written under names of this process's own, and renamed into place whole. */
            char partial[PATH_MAX + 96], partial_messages[PATH_MAX + 96];
            snprintf(partial, sizeof partial, "%s.partial.%d", compiled, (int)getpid());
            snprintf(partial_messages, sizeof partial_messages, "%s.partial.%d", messages, (int)getpid());
            int output = open(partial_messages, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
            if (output < 0) fail("cannot write %s", partial_messages);
            struct timespec started, ended;
            clock_gettime(CLOCK_MONOTONIC, &started);
            int status = compile(lib, file, partial, modules, output);
            if (status != 0) {
                unlink(partial);
                show(output);
                /* swiftc exits 1 when it rejects the script (or the link fails). */
                if (status == 1) rename(partial_messages, messages);
                else unlink(partial_messages);
                fprintf(stderr, "obsession: %s did not compile\n", file);
                return 1;
            }
            close(output);
            unlink(partial_messages);
            if (rename(partial, compiled) != 0) fail("cannot put %s in the cache", compiled);
            clock_gettime(CLOCK_MONOTONIC, &ended);
            fprintf(stderr, "obsession: compiled %s in %.1f s\n", file,
                    (double)(ended.tv_sec - started.tv_sec) + (double)(ended.tv_nsec - started.tv_nsec) / 1e9);
        }
        close(held);
    }
    /* The compiled script in this process's place: the same environment, stdin and stdout, and
       its own name as the script's, for its log lines. */
    argv[2] = (char *)file;
    execv(compiled, argv + 2);
    fail("cannot run %s", compiled);
    return 2;
}

/* `obsession build FILE.swift -o PROGRAM`: the same compilation, ahead of time, into PROGRAM. */
static int build(int argc, char **argv) {
    if (argc != 5 || strcmp(argv[3], "-o") != 0) usage("obsession build FILE.swift -o PROGRAM");
    char lib[PATH_MAX], cache[PATH_MAX], modules[PATH_MAX + 16];
    library_directory(lib);
    cache_directory(cache);
    snprintf(modules, sizeof modules, "%s/module-cache", cache);
    return compile(lib, argv[2], argv[4], modules, STDERR_FILENO) == 0 ? 0 : 1;
}

int main(int argc, char **argv) {
    if (argc >= 2 && strcmp(argv[1], "script") == 0) return script(argc, argv);
    if (argc >= 2 && strcmp(argv[1], "build") == 0) return build(argc, argv);
    /* Every other subcommand is obsession-tool's: beside this program, or in libexec. */
    char self[PATH_MAX], tool[PATH_MAX + 64];
    ssize_t length = readlink("/proc/self/exe", self, sizeof self - 1);
    if (length <= 0) fail("cannot find %s", "/proc/self/exe");
    self[length] = 0;
    char *directory = dirname(self);
    snprintf(tool, sizeof tool, "%s/obsession-tool", directory);
    if (access(tool, X_OK) != 0) snprintf(tool, sizeof tool, "%s/../libexec/obsession/obsession-tool", directory);
    argv[0] = "obsession";
    execv(tool, argv);
    fail("cannot run %s", tool);
    return 2;
}
