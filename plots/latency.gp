# plots/latency.gp: request latency by row (convoy), the convoy effect in
# one picture. The build embeds this file in the gil-lab binary
# (plots/plot.c), which feeds it to gnuplot on standard input inside a
# results folder, once per format.
#
# Input: `data` (latency.dat): one line per row that has a client,
#   x p50 p90 p99 p99.9 max "label"      (milliseconds)
# each value the median over the row's repeats of that repeat's percentile.
# A row whose label ends in its switch interval makes a sweep of
# intervals read left to right as "latency against switch interval".
#
# Output: the picture, on standard output.
#
# Variables: term ('png', 'svg' or 'pdf'), data, nrows, title1, title2
# (machine), footer (provenance), and plots/theme.gp's (width, height,
# dark), which comes first. Rerun by hand inside a results folder with
#   gnuplot -e "term='svg'; data='latency.dat'; nrows=4" path/to/plots/theme.gp \
#       path/to/plots/latency.gp > latency.svg
#
# Slide rules: 1600x900 by default, a log axis (latencies span microseconds to tens of
# milliseconds), the median as a bar, p90/p99/max as marks, every mark
# named in the key, noenhanced text.

if (!exists("term")) term = "png"
if (!exists("data")) data = "latency.dat"
if (!exists("nrows")) nrows = 1
if (!exists("title1")) title1 = "Request latency"
if (!exists("title2")) title2 = ""
if (!exists("footer")) footer = ""

eval theme_terminal(term, 22)
set output
set termoption noenhanced
set encoding utf8
set title title1 . (strlen(title2) > 0 ? "\n" . title2 : "") textcolor rgb fg
set ylabel "latency (ms, log scale), lower is better" textcolor rgb fg
set logscale y
set yrange [0.001:*]   # bars rise from 1 µs: a log axis has no zero
set format y "%g"
set xrange [-0.7:nrows - 0.3]
set xtics scale 0 nomirror textcolor rgb fg
if (nrows > 4) set xtics rotate by -25
set ytics nomirror textcolor rgb fg
set grid ytics mytics lc rgb gridc
set border 3 lc rgb fg
set style fill solid 0.85 noborder
set boxwidth 0.6
set key top left reverse Left samplen 1.5 textcolor rgb fg
set bmargin (nrows > 4 ? 9 : 5)
set label 2 footer at screen 0.99, screen 0.02 right font sprintf(",%d", pt(14)) tc rgb muted noenhanced

plot data using 1:2:xtic(7) with boxes lc rgb "#0072B2" title "p50 (bar)", \
     data using 1:3 with points pt 7 ps 1.6 lc rgb "#009E73" title "p90", \
     data using 1:4 with points pt 5 ps 1.6 lc rgb "#E69F00" title "p99", \
     data using 1:6 with points pt 2 ps 1.8 lc rgb "#D55E00" title "max", \
     data using 1:2:(sprintf("%.3g ms", $2)) with labels offset 0, 0.8 font sprintf(",%d", pt(16)) textcolor rgb fg notitle
