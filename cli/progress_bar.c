#include "progress_bar.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* A terminal redraw more often than this only burns time in the terminal. */
#define REDRAW_SECONDS 0.1
/* Plain mode: about this many lines per run, and never a silence longer
 * than LINE_MAX_SILENCE seconds (an evaluation at 1024 px can take minutes). */
#define LINES_PER_RUN 20
#define LINE_MAX_SILENCE 30.0
#define BAR_MAX_WIDTH 30

struct progress_bar {
    FILE *stream;
    int interactive;
    int have_last;
    nst_progress last;
    double drawn_seconds; /* when the last line or redraw happened */
    int drawn_iter;       /* iteration of the last plain line; -1 = none yet */
    char device[NST_PROGRESS_DEVICE_MAX]; /* where the objective runs, as last said */
};

progress_bar *progress_bar_new(FILE *stream, int interactive)
{
    progress_bar *bar = calloc(1, sizeof *bar);
    if (!bar)
        return NULL;
    bar->stream = stream;
    bar->interactive = interactive;
    bar->drawn_seconds = -1e9;
    bar->drawn_iter = -1;
    return bar;
}

void progress_bar_free(progress_bar *bar)
{
    free(bar);
}

/* "m:ss", or "h:mm:ss" from an hour on. */
static void format_duration(double seconds, char *out, size_t size)
{
    if (!(seconds >= 0) || seconds > 1e7) {
        snprintf(out, size, "--:--");
        return;
    }
    long s = lround(seconds);
    if (s >= 3600)
        snprintf(out, size, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
    else
        snprintf(out, size, "%ld:%02ld", s / 60, s % 60);
}

static double eta_seconds(const nst_progress *p)
{
    if (p->iter <= 0 || p->iterations <= 0)
        return -1; /* nothing measured yet */
    return p->seconds / p->iter * (p->iterations - p->iter);
}

/* Where a long run is: the pyramid stage and, in a tiled stage, the tile
 * (empty for a single whole stage). */
static void format_place(const nst_progress *p, int compact, char *out, size_t size)
{
    int n = 0;
    out[0] = '\0';
    if (p->stages > 1)
        n = snprintf(out, size, compact ? "s%d/%d " : "stage %d/%d (%dx%d)  ", p->stage + 1, p->stages,
                     p->stage_width, p->stage_height);
    if (p->tiles > 0 && n >= 0 && (size_t)n < size)
        snprintf(out + n, size - (size_t)n, compact ? "t%d/%d " : "tile %d/%d  ", p->tile + 1, p->tiles);
}

/* The numbers both modes show; `compact` for one terminal line. */
static void format_status(const nst_progress *p, int compact, char *out, size_t size)
{
    char elapsed[32], eta[32], place[96];
    format_duration(p->seconds, elapsed, sizeof elapsed);
    format_duration(eta_seconds(p), eta, sizeof eta);
    format_place(p, compact, place, sizeof place);
    if (compact)
        snprintf(out, size, "%stotal %.3g (c %.3g s %.3g tv %.3g) %s ETA %s", place, p->total, p->content, p->style,
                 p->tv, elapsed, eta);
    else
        snprintf(out, size, "%stotal %.4g (content %.3g, style %.3g, tv %.3g)  %s elapsed, ETA %s", place,
                 p->total, p->content, p->style, p->tv, elapsed, eta);
}

static int terminal_width(FILE *stream)
{
    struct winsize ws;
    if (ioctl(fileno(stream), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 20)
        return ws.ws_col;
    return 80;
}

/* Room kept for the counter and the numbers; the bar gets the rest (up to
 * BAR_MAX_WIDTH), fixed for a given terminal so it does not jitter. */
#define BAR_TEXT_ROOM 72

static void draw_bar(progress_bar *bar, const nst_progress *p)
{
    char status[256], cells[BAR_MAX_WIDTH + 1] = "", line[512];
    format_status(p, 1, status, sizeof status);
    int columns = terminal_width(bar->stream);
    int width = columns - BAR_TEXT_ROOM < BAR_MAX_WIDTH ? columns - BAR_TEXT_ROOM : BAR_MAX_WIDTH;
    if (width >= 5) {
        double done = p->iterations > 0 ? (double)p->iter / p->iterations : 1.0;
        int filled = (int)(done * width + 0.5);
        for (int i = 0; i < width; i++)
            cells[i] = i < filled ? '#' : '-';
        cells[width] = '\0';
    }
    snprintf(line, sizeof line, "iter %d/%d %s%s%s%s", p->iter, p->iterations, cells[0] ? "[" : "", cells,
             cells[0] ? "] " : "", status);
    /* \r + "erase to end of line" redraws in place; a line longer than the
     * terminal would wrap and break that, so it is cut. */
    fprintf(bar->stream, "\r\033[K%.*s", columns - 1, line);
    fflush(bar->stream);
}

static void draw_line(progress_bar *bar, const nst_progress *p)
{
    char status[256];
    format_status(p, 0, status, sizeof status);
    fprintf(bar->stream, "nst: iteration %d/%d  %s\n", p->iter, p->iterations, status);
    fflush(bar->stream);
    bar->drawn_iter = p->iter;
}

static int line_due(const progress_bar *bar, const nst_progress *p)
{
    if (bar->drawn_iter < 0)
        return 1; /* the initial picture: shows the run has started */
    if (p->seconds - bar->drawn_seconds >= LINE_MAX_SILENCE)
        return 1; /* a long iteration (tiles of a big picture) still shows it moves */
    if (p->iter == bar->drawn_iter)
        return 0; /* line-search evaluations of an iteration already shown */
    int step = p->iterations / LINES_PER_RUN;
    if (step < 1)
        step = 1;
    return p->iter % step == 0 || p->iter >= p->iterations;
}

/* Where the objective runs, said once, and again if it moves (a GPU that
 * failed under "auto" hands the run to the CPU). */
static void say_device(progress_bar *bar, const nst_progress *p)
{
    if (strcmp(bar->device, p->device) == 0)
        return;
    snprintf(bar->device, sizeof bar->device, "%s", p->device);
    fprintf(bar->stream, "%snst: the objective runs on %s\n", bar->interactive ? "\r\033[K" : "", p->device);
    fflush(bar->stream);
}

void progress_bar_update(progress_bar *bar, const nst_progress *progress)
{
    if (!bar)
        return;
    say_device(bar, progress);
    bar->last = *progress;
    bar->have_last = 1;
    int due = bar->interactive ? progress->seconds - bar->drawn_seconds >= REDRAW_SECONDS : line_due(bar, progress);
    if (!due)
        return;
    if (bar->interactive)
        draw_bar(bar, progress);
    else
        draw_line(bar, progress);
    bar->drawn_seconds = progress->seconds;
}

void progress_bar_finish(progress_bar *bar)
{
    if (!bar || !bar->have_last)
        return;
    if (bar->interactive) {
        draw_bar(bar, &bar->last);
        fputc('\n', bar->stream);
    } else if (bar->last.iter != bar->drawn_iter) {
        draw_line(bar, &bar->last);
    }
    fflush(bar->stream);
    bar->have_last = 0;
}
