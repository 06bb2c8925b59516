/* tests/test_views.c: the teaching views from the outside (the harness is
 * tests/cli_fixture.h):
 *
 *   - `gil-lab sizes`: both tables, rows as lab/sizes.h and CPython make
 *     them, the lab's extra bytes marked; with --python, a fake interpreter
 *     (a shell script printing known numbers) in the column of its build,
 *     and every way a real one can go wrong (fails, prints garbage or too
 *     little, is missing, never answers): one stderr line, exit 1, the
 *     lab's columns still printed; the default python3 missing from PATH
 *     is no error;
 *   - `gil-lab refs`: seed 002's counts (2, 3, 2), the small ints' shared
 *     ids and immortal count, a freed block reused first under pymalloc,
 *     one object per constant, under every guard and allocator;
 *   - `gil-lab heap --picture`: a whole PNG and SVG with a panel per step,
 *     a bad name refused before the story runs, and a picture that cannot
 *     be drawn (no gnuplot, a full disk) left out whole, the text view
 *     printed all the same.
 */
#include "cli_fixture.h"

#include <sys/stat.h>

TestSuite(views, .init = make_tmpdir, .fini = remove_tmpdir);

/* sys.getsizeof of the table's rows, in its order, as CPython 3.12 and
 * 3.13t print them: 0, 1, -1, 1000, 2**30 - 1, 2**30, -2**30, 2**60, True,
 * False, None, [], appended(1), appended(5), appended(17), appended(100),
 * Node(). */
#define SIZES_312 "28 28 28 28 28 32 32 36 28 28 16 56 88 120 248 920 48"
#define SIZES_313T "44 44 44 44 44 48 48 52 44 44 32 56 88 120 248 920 48"

/* An executable shell script tmpdir/name with body; returns its path. */
static const char *fake(const char *name, const char *body)
{
    const char *path = path_in_tmp(name);
    FILE *f = fopen(path, "w");

    cr_assert_not_null(f, "cannot create %s", path);
    fprintf(f, "#!/bin/sh\n%s\n", body);
    cr_assert_eq(fclose(f), 0);
    cr_assert_eq(chmod(path, 0755), 0);
    return path;
}

/* A fake Python that answers as the snippet does: the header, then one
 * size per line. */
static const char *fake_python(const char *name, const char *impl, const char *version, int ft,
                               const char *sizes)
{
    char body[512];

    snprintf(body, sizeof body, "echo gil-lab-sizes %s %s %d\nfor s in %s; do echo $s; done", impl,
             version, ft, sizes);
    return fake(name, body);
}

/* `gil-lab sizes` beside a fake Python answering sizes; it must succeed. */
static result_t sizes_beside(const char *name, const char *version, int ft, const char *sizes)
{
    result_t r = RUN("sizes", "--python", fake_python(name, "cpython", version, ft, sizes));

    cr_assert_eq(r.status, 0, "stderr: %s", r.err);
    cr_expect_eq(r.errlen, 0, "stderr: %s", r.err);
    return r;
}

/* The text of `section` ("CPython 3.12," or "CPython 3.13t,") from out. */
static const char *section(const char *out, const char *title)
{
    const char *s = strstr(out, title);
    cr_assert_not_null(s, "no section '%s' in: %s", title, out);
    return s;
}

/* Row `label` of a section, its columns joined by single blanks. */
static void row_of(const char *sec, const char *label, char *buf, size_t len)
{
    char key[64];
    const char *line, *end;
    size_t n = 0;

    snprintf(key, sizeof key, "\n  %s  ", label);
    line = strstr(sec, key);
    cr_assert_not_null(line, "no row '%s'", label);
    line += 3;
    end = strchr(line, '\n');
    for (const char *p = line; p < end && n + 1 < len; p++)
        if (*p != ' ' || (n > 0 && buf[n - 1] != ' '))
            buf[n++] = *p;
    while (n > 0 && buf[n - 1] == ' ')
        n--;
    buf[n] = '\0';
}

#define EXPECT_ROW(sec, label, want)                                           \
    do {                                                                       \
        char got_[160];                                                        \
        row_of(sec, label, got_, sizeof got_);                                 \
        cr_expect_str_eq(got_, want, "row %s", label);                         \
    } while (0)

/* One line on stderr, "gil-lab: " first, holding every piece. */
static void expect_one_line(const result_t *r, const char *const *pieces)
{
    cr_expect_eq(strncmp(r->err, "gil-lab: ", 9), 0, "stderr: %s", r->err);
    cr_expect(r->errlen > 0 && !memchr(r->err, '\n', r->errlen - 1), "not one line: %s", r->err);
    for (; *pieces; pieces++)
        cr_expect_not_null(strstr(r->err, *pieces), "'%s' not in: %s", *pieces, r->err);
}
#define EXPECT_ONE_LINE(r, ...) expect_one_line(&(r), (const char *const[]){__VA_ARGS__, NULL})

/* ------------------------------------------------------------------------
 * gil-lab sizes
 */

Test(views, sizes_tables_are_cpythons_sizes)
{
    result_t r = RUN("sizes", "--no-python");
    const char *dflt, *ft;

    cr_assert_eq(r.status, 0, "stderr: %s", r.err);
    cr_expect_eq(r.errlen, 0, "stderr: %s", r.err);
    dflt = section(r.out, "CPython 3.12, default build (gil-lab guards none, gil");
    ft = section(r.out, "CPython 3.13t, free-threaded build (gil-lab guards atomic, biased");
    cr_assert_lt(dflt, ft);
    /* object, getsizeof, CPython allocates, gil-lab allocates, block */
    EXPECT_ROW(dflt, "0", "0 28 - (small-int cache) - -");
    EXPECT_ROW(dflt, "1000", "1000 28 32 32 32");
    EXPECT_ROW(dflt, "2**30 - 1", "2**30 - 1 28 32 32 32");
    EXPECT_ROW(dflt, "2**30", "2**30 32 32 32 32");
    EXPECT_ROW(dflt, "-2**30", "-2**30 32 32 32 32");
    EXPECT_ROW(dflt, "2**60", "2**60 36 36 36 48");
    EXPECT_ROW(dflt, "False", "False 28 - (singleton) - -");
    EXPECT_ROW(dflt, "None", "None 16 - (singleton) - -");
    EXPECT_ROW(dflt, "[]", "[] 56 56 56 64");
    EXPECT_ROW(dflt, "[] + 1 append", "[] + 1 append 88 56 + 32 56 + 32 64 + 32");
    EXPECT_ROW(dflt, "[] + 100 appends", "[] + 100 appends 920 56 + 864 56 + 864 64 + malloc");
    EXPECT_ROW(dflt, "Node()", "Node() 48 48 48 48");
    /* The free-threaded build: the lab's ring link and the missing
     * _PyListArray header, marked and explained. */
    EXPECT_ROW(ft, "1000", "1000 44 48 48 48");
    EXPECT_ROW(ft, "2**60", "2**60 52 52 52 64");
    EXPECT_ROW(ft, "None", "None 32 - (singleton) - -");
    EXPECT_ROW(ft, "[]", "[] 56 56 72 * 80");
    EXPECT_ROW(ft, "[] + 5 appends", "[] + 5 appends 120 56 + 72 72 + 64 * 80 + 64");
    EXPECT_ROW(ft, "Node()", "Node() 48 48 64 * 64");
    cr_expect_not_null(strstr(ft, "16 bytes more per container"));
    cr_expect_not_null(strstr(ft, "8 bytes less per list item array"));
    cr_expect_not_null(strstr(ft, "allocates with mimalloc, not pymalloc"));
    cr_expect_null(strstr(r.out, "python"), "--no-python: no interpreter named: %s", r.out);
    result_free(&r);
}

Test(views, sizes_beside_the_modelled_python)
{
    result_t r = sizes_beside("python3.12", "3.12.4", 0, SIZES_312);
    const char *dflt, *ft;

    dflt = section(r.out, "CPython 3.12,");
    ft = section(r.out, "CPython 3.13t,");
    cr_expect_not_null(strstr(dflt, "python3.12 3.12.4"), "column header: %s", dflt);
    EXPECT_ROW(dflt, "1000", "1000 28 28 32 32 32");
    EXPECT_ROW(dflt, "[] + 17 appends", "[] + 17 appends 248 248 56 + 192 56 + 192 64 + 192");
    cr_expect_not_null(strstr(dflt, "is CPython 3.12.4, the version modelled: the same as the "
                                    "model in all 17 rows"));
    cr_expect_not_null(strstr(ft, "is not a free-threaded build"), "%s", ft);
    cr_expect_null(strstr(r.out, " !"), "nothing differs: %s", r.out);
    result_free(&r);
}

Test(views, sizes_difference_from_the_modelled_version_is_a_finding)
{
    result_t r = sizes_beside("py", "3.12.0", 0,
                              "28 28 28 30 28 32 32 36 28 28 16 56 88 120 248 920 48");

    EXPECT_ROW(section(r.out, "CPython 3.12,"), "1000", "1000 28 30 ! 32 32 32");
    cr_expect_not_null(strstr(r.out, "FINDING: "), "%s", r.out);
    cr_expect_not_null(strstr(r.out, "differs from the model in 1 row (marked !): 1000. The model "
                                     "is wrong there."),
                       "%s", r.out);
    result_free(&r);
}

Test(views, sizes_difference_from_another_version_is_expected)
{
    result_t r = sizes_beside("python3.10", "3.10.12", 0,
                              "24 28 28 28 28 32 32 36 28 24 16 56 88 120 248 920 48");

    EXPECT_ROW(section(r.out, "CPython 3.12,"), "0", "0 28 24 ! - (small-int cache) - -");
    cr_expect_not_null(strstr(r.out, "is CPython 3.10.12, not the modelled 3.12: it differs in 2 "
                                     "rows (marked !): 0, False. Expected between versions"),
                       "%s", r.out);
    cr_expect_null(strstr(r.out, "FINDING"));
    result_free(&r);
}

Test(views, sizes_free_threaded_python_goes_beside_the_free_threaded_table)
{
    result_t r = sizes_beside("python3.13t", "3.13.1", 1, SIZES_313T);
    const char *ft;

    ft = section(r.out, "CPython 3.13t,");
    EXPECT_ROW(ft, "[]", "[] 56 56 56 72 * 80");
    cr_expect_not_null(strstr(ft, "is CPython 3.13.1 (free-threaded build), the version modelled"));
    cr_expect_not_null(strstr(section(r.out, "CPython 3.12,"), "is not a default build"));
    result_free(&r);
}

/* The fake sees what a real Python would: -I -c and the generated code. */
Test(views, sizes_asks_python_for_every_row)
{
    char body[512];
    const char *py, *code;
    char *text;
    result_t r;

    snprintf(body, sizeof body, "printf '%%s' \"$3\" > '%s'\necho gil-lab-sizes cpython 3.12.1 0\n"
                                "for s in %s; do echo $s; done",
             path_in_tmp("code.py"), SIZES_312);
    py = fake("recording-python", body);
    r = RUN("sizes", "--python", py);
    cr_assert_eq(r.status, 0, "stderr: %s", r.err);
    result_free(&r);
    code = text = slurp(path_in_tmp("code.py"));
    cr_expect_not_null(strstr(code, "__slots__ = ('next', 'data')"), "%s", code);
    cr_expect_not_null(strstr(code, "print(sys.getsizeof(2**30 - 1))"), "%s", code);
    cr_expect_not_null(strstr(code, "print(sys.getsizeof(appended(100)))"), "%s", code);
    cr_expect_eq(count_of(code, "print(sys.getsizeof("), 17);
    free(text);
}

/* Failures of the interpreter: one line, exit 1, the lab's tables all the
 * same. */
static void expect_python_failure(result_t r, const char *why)
{
    cr_expect_eq(r.status, 1, "exit %d, stderr: %s", r.status, r.err);
    cr_expect_not_null(strstr(r.out, "CPython 3.12, default build"), "tables: %s", r.out);
    cr_expect_not_null(strstr(r.out, "CPython 3.13t, free-threaded build"));
    EXPECT_ONE_LINE(r, why, "the model's numbers only");
    result_free(&r);
}

Test(views, sizes_python_that_fails_or_talks_nonsense)
{
    expect_python_failure(
        RUN("sizes", "--python",
            fake("failing", "echo 'Traceback (most recent call last):' >&2\n"
                            "echo 'SyntaxError: invalid syntax' >&2\nexit 3")),
        "exited 3: SyntaxError: invalid syntax");
    expect_python_failure(RUN("sizes", "--python", fake("garbage", "echo hello; echo world")),
                          "did not answer as the snippet asks (its first line is not the "
                          "snippet's header)");
    expect_python_failure(
        RUN("sizes", "--python", fake_python("short", "cpython", "3.12.1", 0, "28 28 28")),
        "printed 3 sizes, 17 expected");
    expect_python_failure(
        RUN("sizes", "--python",
            fake_python("words", "cpython", "3.12.1", 0, "28 28 28 many 28 32 32 36 28 28 16 56 "
                                                         "88 120 248 920 48")),
        "line 5, 'many', is not a size");
    expect_python_failure(
        RUN("sizes", "--python", fake("killed", "kill -9 $$")), "killed by signal 9");
    expect_python_failure(RUN("sizes", "--python", path_in_tmp("no-such-python")), "not found");
}

Test(views, sizes_python_that_never_answers_is_stopped)
{
    time_t start = time(NULL);
    result_t r = RUN("sizes", "--timeout", "1", "--python", fake("hanging", "sleep 60"));

    cr_expect_leq(time(NULL) - start, 20, "the time limit was not kept");
    expect_python_failure(r, "gave no answer within 1 s and was stopped");
}

Test(views, sizes_without_python3_on_path_is_no_error)
{
    char empty[200];
    cli_opts_t o = {.path = empty};
    result_t r;

    snprintf(empty, sizeof empty, "%s", path_in_tmp("empty-bin"));
    cr_assert_eq(mkdir(empty, 0755), 0);
    r = RUN_WITH(&o, "sizes");
    cr_expect_eq(r.status, 0, "stderr: %s", r.err);
    cr_expect_not_null(strstr(r.out, "Node()"));
    EXPECT_ONE_LINE(r, "no python3 on PATH");
    result_free(&r);
}

/* The local python3, when there is one: it runs, and its verdict is said. */
Test(views, sizes_beside_the_local_python3)
{
    result_t r = RUN("sizes");

    cr_assert_eq(r.status, 0, "stderr: %s", r.err);
    if (r.errlen == 0)
        cr_expect(strstr(r.out, "python3 is ") != NULL, "no verdict on python3: %s", r.out);
    else
        EXPECT_ONE_LINE(r, "no python3 on PATH");
    result_free(&r);
}

Test(views, sizes_bad_options)
{
    assert_usage_error(RUN("sizes", "--timeout", "0"), "--timeout 0");
    assert_usage_error(RUN("sizes", "--python", ""), "--python ''");
    assert_usage_error(RUN("sizes", "--python"), "--python");
    assert_usage_error(RUN("sizes", "stray"), "stray");
}

/* ------------------------------------------------------------------------
 * gil-lab refs
 */

/* The value printed beside the n-th line (from 0) that starts with `code`
 * in experiment `number`. */
static long long printed(const char *out, int number, const char *code, int n)
{
    char head[16], key[64];
    const char *p;
    long long v = -1;

    snprintf(head, sizeof head, "\n%d. ", number);
    p = strstr(out, head);
    cr_assert_not_null(p, "no experiment %d: %s", number, out);
    snprintf(key, sizeof key, "\n    %s ", code);
    for (int k = 0; k <= n; k++) {
        p = strstr(p + 1, key);
        cr_assert_not_null(p, "experiment %d: no %s number %d", number, code, k);
    }
    cr_assert_eq(sscanf(p + strlen(key), "%lld", &v), 1, "no value after %s", code);
    return v;
}

Test(views, refs_counts_and_ids_as_the_seed_shows_them)
{
    result_t r = RUN("refs");
    long long x, y, x11, z;

    cr_assert_eq(r.status, 0, "stderr: %s", r.err);
    cr_expect_eq(r.errlen, 0, "stderr: %s", r.err);
    /* 1: before b = a, after it, after b = None. */
    cr_expect_eq(printed(r.out, 1, "print(sys.getrefcount(a))", 0), 2);
    cr_expect_eq(printed(r.out, 1, "print(sys.getrefcount(a))", 1), 3);
    cr_expect_eq(printed(r.out, 1, "print(sys.getrefcount(a))", 2), 2);
    /* 2: x, y and z are one cached 10; 11 is the next static object. */
    x = printed(r.out, 2, "print(id(x))", 0);
    y = printed(r.out, 2, "print(id(y))", 0);
    x11 = printed(r.out, 2, "print(id(x))", 1);
    z = printed(r.out, 2, "print(id(z))", 0);
    cr_expect(x > 0 && x == y && y == z, "x %lld, y %lld, z %lld", x, y, z);
    cr_expect_eq(x11 - x, 64, "11 is %lld bytes after 10", x11 - x);
    cr_expect_eq(printed(r.out, 2, "print(sys.getrefcount(z))", 0), 4294967295LL);
    cr_expect_not_null(strstr(r.out, "CPython 3.12's array holds bare\n  PyLongObjects, 32 bytes"));
    /* 3: two equal ints alive at once differ; z takes y's freed block. */
    x = printed(r.out, 3, "print(id(x))", 0);
    y = printed(r.out, 3, "print(id(y))", 0);
    z = printed(r.out, 3, "print(id(z))", 0);
    cr_expect_neq(x, y);
    cr_expect_eq(z, y, "pymalloc's free list is LIFO: z %lld, y %lld", z, y);
    cr_expect_not_null(strstr(r.out, "y's: last freed, first reused"));
    /* 4: one constant, one object. */
    cr_expect_eq(printed(r.out, 4, "print(id(a))", 0), printed(r.out, 4, "print(id(b))", 0));
    result_free(&r);
}

Test(views, refs_without_immortal_objects_counts_small_ints)
{
    result_t r = RUN("refs", "--no-immortal");

    cr_assert_eq(r.status, 0, "stderr: %s", r.err);
    /* The interpreter's reference, the constant, y, z and the argument. */
    cr_expect_eq(printed(r.out, 2, "print(sys.getrefcount(z))", 0), 5);
    cr_expect_not_null(strstr(r.out, "immortal objects off (--no-immortal"));
    cr_expect_not_null(strstr(r.out, "CPython 3.11 prints about 1000000000"));
    result_free(&r);
}

Test(views, refs_under_every_guard_and_allocator)
{
    static const char *const guards[] = {"none", "gil", "atomic", "biased"};
    static const char *const heaps[] = {"pymalloc", "mimalloc", "malloc"};

    for (size_t g = 0; g < sizeof guards / sizeof guards[0]; g++) {
        for (size_t h = 0; h < sizeof heaps / sizeof heaps[0]; h++) {
            result_t r = RUN("refs", "-g", guards[g], "-a", heaps[h]);
            cr_assert_eq(r.status, 0, "%s/%s: %s", guards[g], heaps[h], r.err);
            cr_expect_eq(printed(r.out, 1, "print(sys.getrefcount(a))", 1), 3, "%s", guards[g]);
            cr_expect_eq(printed(r.out, 1, "print(sys.getrefcount(a))", 2), 2, "%s", guards[g]);
            if (strcmp(heaps[h], "pymalloc") == 0)
                cr_expect_eq(printed(r.out, 3, "print(id(z))", 0),
                             printed(r.out, 3, "print(id(y))", 0), "%s: LIFO", guards[g]);
            if (g >= 2)
                cr_expect_not_null(strstr(r.out, "CPython 3.13t's array holds bare\n  "
                                                 "PyLongObjects, 48 bytes"));
            result_free(&r);
        }
    }
}

Test(views, refs_bad_options)
{
    assert_usage_error(RUN("refs", "-g", "nosuch"), "-g nosuch");
    assert_usage_error(RUN("refs", "-a", "nosuch"), "-a nosuch");
    assert_usage_error(RUN("refs", "--no-immortal=1"), "--no-immortal=1");
    assert_usage_error(RUN("refs", "stray"), "stray");
    result_t r = RUN("refs", "--guard", "gill");
    EXPECT_ONE_LINE(r, "-g/--guard", "unknown guard 'gill'", "biased");
    result_free(&r);
}

/* ------------------------------------------------------------------------
 * gil-lab heap --picture
 */

/* The text view of the heap story, whole: four steps and their tables. */
static void expect_heap_text(const result_t *r)
{
    cr_expect_eq(count_of(r->out, "\n=== "), 4, "four steps: %s", r->out);
    cr_expect_eq(count_of(r->out, "pymalloc map: "), 4);
    cr_expect_not_null(strstr(r->out, "=== 4. after del x: "));
}

Test(views, heap_picture_png_and_svg)
{
    const char *png = path_in_tmp("heap.png"), *svg = path_in_tmp("heap.svg");
    result_t r;
    char *text;

    if (!have_gnuplot())
        cr_skip_test("gnuplot is not installed");
    r = RUN("heap", "-n", "3000", "--picture", png);
    cr_assert_eq(r.status, 0, "stderr: %s", r.err);
    expect_heap_text(&r);
    cr_expect_not_null(strstr(r.out, "\nPicture: "), "%s", r.out);
    cr_expect(file_starts_with(png, "\x89PNG", 4));
    cr_expect(file_ends_with(png, "IEND\xae\x42\x60\x82", 8), "a whole PNG");
    cr_expect(!exists(path_in_tmp("heap.png.tmp")));
    result_free(&r);

    r = RUN("heap", "-n", "3000", "--arena-size", "256k", "--pool-size", "4k", "--picture", svg);
    cr_assert_eq(r.status, 0, "stderr: %s", r.err);
    cr_expect(file_ends_with(svg, "</svg>", 6), "a whole SVG");
    text = slurp(svg);
    /* One panel per step, with the step and its counts; the legend. */
    cr_expect_not_null(strstr(text, "1. the list built: 1 arena; pools "), "captions");
    cr_expect_not_null(strstr(text, "4. del x: 0 of 1 arenas returned to the OS"));
    cr_expect_not_null(strstr(text, "the 64 pools (4 KiB) of an arena; rows: arenas (256 KiB)"));
    cr_expect_not_null(strstr(text, "3000 ints, sys.getsizeof 28 bytes, in 32-byte blocks"));
    free(text);
    result_free(&r);
}

Test(views, heap_picture_bad_names_are_usage_errors)
{
    assert_usage_error(RUN("heap", "--picture", path_in_tmp("heap.jpg")), "jpg");
    assert_usage_error(RUN("heap", "--picture", path_in_tmp("no-such-folder/heap.png")),
                       "missing folder");
    assert_usage_error(RUN("heap", "--picture", ""), "empty");
    assert_usage_error(RUN("heap", "--picture", path_in_tmp("dir.png/")), "a folder");
    assert_usage_error(RUN("heap", "--picture"), "no value");
    result_t r = RUN("heap", "--picture", "heap.gif");
    EXPECT_ONE_LINE(r, "--picture: 'heap.gif' must be a file name ending in .png or .svg");
    result_free(&r);
}

/* gnuplot missing, or a disk that fills: the text view is whole, the
 * picture is not there at all, one line says why, exit 1. */
Test(views, heap_picture_that_cannot_be_drawn)
{
    char empty[200];
    cli_opts_t no_gnuplot = {.path = empty}, full = {.fsize_limit = 30000};   /* script ~10 KB, picture ~50 KB */
    result_t r;

    snprintf(empty, sizeof empty, "%s", path_in_tmp("bin"));
    cr_assert_eq(mkdir(empty, 0755), 0);
    r = RUN_WITH(&no_gnuplot, "heap", "-n", "3000", "--picture", path_in_tmp("a.png"));
    cr_expect_eq(r.status, 1, "stderr: %s", r.err);
    expect_heap_text(&r);
    EXPECT_ONE_LINE(r, "picture not drawn: gnuplot not found");
    cr_expect(!exists(path_in_tmp("a.png")) && !exists(path_in_tmp("a.png.tmp")));
    result_free(&r);

    if (!have_gnuplot())
        return;
    r = RUN_WITH(&full, "heap", "-n", "3000", "--picture", path_in_tmp("b.png"));
    cr_expect_eq(r.status, 1, "stderr: %s", r.err);
    expect_heap_text(&r);
    EXPECT_ONE_LINE(r, "picture not drawn: gnuplot's b.png is truncated");
    cr_expect(!exists(path_in_tmp("b.png")) && !exists(path_in_tmp("b.png.tmp")));
    result_free(&r);
}
