# plots/bars.gp: gil-lab's clustered bar chart (kinds bars, normalised,
# ratio, paired; plots/plot.h). The build embeds this file in the gil-lab
# binary, which feeds it to gnuplot on standard input with a results folder
# as the working directory, once per picture.
#
# Input: <stem>.dat (`data`), written by plots/plot.c: one gnuplot data
# block per bar series and a last block with the cluster labels:
#
#   "single" value low high          <- header line: the series title
#   0 4.77 4.75 4.79                  <- x, value, error bar low, high
#   5 3.10 3.00 3.20                     (NaN: no error bar)
#   <two blank lines>
#   ...
#   1.5 "gil / pymalloc"              <- last block: cluster centre, label
#
# Output: the picture, on standard output (a file gil-lab created; gnuplot
# never opens an output name of its own).
#
# Variables (set in front of it by gil-lab): plots/theme.gp's width and
# height (pixels; a PDF is 100 pixels to the inch) and dark (1: light text
# on a dark background), with theme.gp itself; data, term ('png', 'svg' or
# 'pdf'), nseries, nclusters, unit and
# valuefmt (the bar labels), hasref and ref (a dashed reference line),
# top (the highest bar or error bar), title1 (what is shown and every
# non-default setting), title2 (machine), footer (provenance), ylab, note
# (what the bars and error bars are). Rerun by hand inside a results folder
# with
#   gnuplot -e "data='chart.dat'; nseries=4; nclusters=1" path/to/plots/theme.gp \
#       path/to/plots/bars.gp > chart.png
#
# Slide rules: large fonts, y axis from zero, every error bar explained on
# the chart, noenhanced text so that names with underscores or carets are
# printed as written.

if (!exists("data")) data = "chart.dat"
if (!exists("term")) term = "png"
if (!exists("nseries")) nseries = 1
if (!exists("nclusters")) nclusters = 1
if (!exists("unit")) unit = "s"
if (!exists("valuefmt")) valuefmt = "%.2f"
if (!exists("hasref")) hasref = 0
if (!exists("ref")) ref = 1.0
if (!exists("top")) top = 0
if (!exists("title1")) title1 = "gil-lab"
if (!exists("title2")) title2 = ""
if (!exists("footer")) footer = ""
if (!exists("ylab")) ylab = "wall time (s), lower is better"
if (!exists("note")) note = ""

# fg, bg, gridc, muted, pt() and theme_terminal(): plots/theme.gp, in front.
edge = dark ? "#bbbbbb" : "#333333"
fs = pt(22)

set termoption noenhanced
set encoding utf8
set title title1 . (strlen(title2) > 0 ? "\n" . title2 : "") textcolor rgb fg
set ylabel ylab textcolor rgb fg
set yrange [0:*]
set offsets 0, 0, graph 0.12, 0
set xrange [-1:nclusters * (nseries + 1) - 1]
set xtics scale 0 nomirror textcolor rgb fg
set ytics nomirror textcolor rgb fg
set grid ytics lc rgb gridc
set border 3 lc rgb fg
set style fill solid 0.9 border rgb edge
set boxwidth 0.9
# Up to four clusters the labels fit level and the key sits below them;
# more, and the labels are slanted into the bottom margin, so the key moves
# into the top of the plot, above room left free for it.
if (nclusters > 4) {
    set xtics rotate by -20
    set key inside top center horizontal reverse Left noautotitle samplen 1.5 textcolor rgb fg
    set offsets 0, 0, graph 0.25, 0
    set bmargin 10
} else {
    set key at screen 0.5, screen 0.13 center center horizontal reverse Left noautotitle samplen 1.5 textcolor rgb fg
    set bmargin 7
}
# The note (what the marks are) above the footer (version, date): a long
# note and the footer side by side overlapped.
set label 1 note at screen 0.01, screen 0.07 left font sprintf(",%d", int(fs * 0.72)) noenhanced textcolor rgb fg
set label 2 footer at screen 0.99, screen 0.025 right font sprintf(",%d", int(fs * 0.64)) noenhanced textcolor rgb muted
if (hasref) set arrow 1 from graph 0, first ref to graph 1, first ref nohead dt 2 lw 2 lc rgb fg

# Okabe-Ito, distinguishable with every common colour-vision deficiency.
set linetype 1 lc rgb "#0072B2"
set linetype 2 lc rgb "#E69F00"
set linetype 3 lc rgb "#009E73"
set linetype 4 lc rgb "#D55E00"
set linetype 5 lc rgb "#CC79A7"
set linetype 6 lc rgb "#56B4E9"
set linetype 7 lc rgb "#F0E442"
set linetype 8 lc rgb (dark ? "#ffffff" : "#000000")
set linetype cycle 8

# Value labels only while they fit above their bars.
labels = nseries * nclusters <= 16

eval theme_terminal(term, 22)
set output
plot for [i=0:nseries-1] data index i using 1:2 with boxes lt (i + 1) title columnheader(1), \
     for [i=0:nseries-1] data index i using 1:3:(0):($4 - $3) with vectors heads size 0.12,90 \
         lc rgb fg lw 2 notitle, \
     for [i=0:nseries-1] data index i using 1:((($4 == $4) ? $4 : $2) * labels):(labels ? sprintf(valuefmt, $2) : "") \
         with labels offset 0, 0.9 font sprintf(",%d", int(fs * 0.8)) textcolor rgb fg notitle, \
     data index nseries using 1:(NaN):xtic(2) notitle
