# plots/lines.gp: gil-lab's line chart against a numeric x (kind scaling;
# plots/plot.h). Embedded in the binary like plots/bars.gp, and fed to
# gnuplot the same way.
#
# Input: <stem>.dat (`data`): one gnuplot data block per line:
#
#   "threads gil" value low high     <- header line: the line's title
#   1 1.00 1.00 1.00                  <- x, value, error bar low, high
#   2 1.93 1.89 1.97
#   <two blank lines>
#
# Variables: as plots/bars.gp (theme.gp's width, height, dark; data, term, nseries,
# title1, title2, footer, ylab, note), plus xlab, xmax (the largest x),
# cpus (the machine's CPUs, 0 unknown) and ideal (0: none, 1: the line
# y = x up to the CPUs, flat beyond them, 2: the line y = 1), drawn dashed;
# xbase, xmin, ylog and pairs for other x axes (latency-interval).
#
# The x axis is logarithmic in base xbase: 2 by default (1, 2, 4, ...
# workers: each doubling the same step), 10 for switch intervals. The y
# axis starts at zero, unless ylog (latencies span decades). With pairs,
# lines 2k and 2k+1 share a colour, the second dashed (p50 and p99).

if (!exists("data")) data = "scaling.dat"
if (!exists("term")) term = "png"
if (!exists("nseries")) nseries = 1
if (!exists("xmax")) xmax = 2
if (!exists("ideal")) ideal = 1
if (!exists("cpus")) cpus = 0
if (!exists("xbase")) xbase = 2
if (!exists("xmin")) xmin = 1
if (!exists("ylog")) ylog = 0
if (!exists("pairs")) pairs = 0
if (!exists("title1")) title1 = "gil-lab"
if (!exists("title2")) title2 = ""
if (!exists("footer")) footer = ""
if (!exists("ylab")) ylab = "speedup"
if (!exists("xlab")) xlab = "workers"
if (!exists("note")) note = ""

# fg, bg, gridc, muted, pt() and theme_terminal(): plots/theme.gp, in front.
fs = pt(22)

set termoption noenhanced
set encoding utf8
set title title1 . (strlen(title2) > 0 ? "\n" . title2 : "") textcolor rgb fg
set xlabel xlab textcolor rgb fg
set ylabel ylab textcolor rgb fg
set logscale x xbase
if (xbase == 2) {
    set xrange [0.8:xmax * 1.25]
} else {
    set xrange [xmin / 1.5:xmax * 1.5]
}
if (ylog) {
    set logscale y
    set yrange [*:*]
    set format y "%g"
} else {
    set yrange [0:*]
    set offsets 0, 0, graph 0.08, 0
}
set xtics nomirror textcolor rgb fg
set ytics nomirror textcolor rgb fg
set grid xtics ytics lc rgb gridc
set border 3 lc rgb fg
set key outside right top vertical reverse Left samplen 2 textcolor rgb fg
set bmargin 6
# The note (what the marks are) above the footer (version, date): a long
# note and the footer side by side overlapped.
set label 1 note at screen 0.01, screen 0.07 left font sprintf(",%d", int(fs * 0.72)) noenhanced textcolor rgb fg
set label 2 footer at screen 0.99, screen 0.025 right font sprintf(",%d", int(fs * 0.64)) noenhanced textcolor rgb muted

set linetype 1 lc rgb "#0072B2"
set linetype 2 lc rgb "#E69F00"
set linetype 3 lc rgb "#009E73"
set linetype 4 lc rgb "#D55E00"
set linetype 5 lc rgb "#CC79A7"
set linetype 6 lc rgb "#56B4E9"
set linetype 7 lc rgb "#F0E442"
set linetype 8 lc rgb (dark ? "#ffffff" : "#000000")
set linetype cycle 8

eval theme_terminal(term, 22)
set output
idealfn(x) = ideal == 1 ? (cpus > 0 && x > cpus ? cpus : x) : 1
if (xbase == 2) {
    plot for [i=0:nseries-1] data index i using 1:2:3:4 with yerrorlines lt (pairs ? i / 2 + 1 : i + 1) \
             dt 1 + pairs * (i % 2) lw 3 pt 7 ps 1.5 title columnheader(1), \
         (ideal > 0 ? idealfn(x) : NaN) with lines dt 2 lw 2 lc rgb fg title (ideal == 1 ? "ideal" : "perfect")
} else {
    # a few decades at most: a tick at every x that has a point
    plot for [i=0:nseries-1] data index i using 1:2:3:4:xtic(sprintf("%g", $1)) with yerrorlines \
             lt (pairs ? i / 2 + 1 : i + 1) dt 1 + pairs * (i % 2) lw 3 pt 7 ps 1.5 title columnheader(1)
}
