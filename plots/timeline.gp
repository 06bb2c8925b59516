# plots/timeline.gp: the GIL timeline of one row, the picture every GIL
# talk draws by hand, here drawn from the lock's own events. The build
# embeds this file in the gil-lab binary (plots/plot.c), which feeds it to
# gnuplot on standard input inside a results folder, once per format.
#
# Input: `data` (timeline-N.dat, written by report/trace.c), six blocks:
#
#   "holding the GIL"        lane from_ms to_ms   (one line per span)
#   "waiting for the GIL"    lane from_ms to_ms
#   "blocked, GIL released"  lane from_ms to_ms
#   "collecting cycles"      lane from_ms to_ms
#   "drop request"           lane at_ms holder     (a waiter asked `holder`)
#   "lanes"                  lane "label"
#
# every span block starting with a dummy row at lane -1 (gnuplot wants at
# least one row per block). Times are milliseconds from the start of the
# repeat's timed region, clipped to the window.
#
# Output: the picture, on standard output.
#
# Variables: term ('png', 'svg' or 'pdf'), data, nlanes, from_ms, to_ms,
# title1 (the row), sub (its parameters), title2 (machine), footer
# (provenance), and plots/theme.gp's (width, height, dark), which comes
# first. Rerun by hand inside a results folder with
#   gnuplot -e "term='svg'; data='timeline-1.dat'; nlanes=2; from_ms=0; to_ms=100" \
#       path/to/plots/theme.gp path/to/plots/timeline.gp > timeline-1.svg
#
# Slide rules: 1600x900 by default, one lane per thread, a colour per state that reads
# with every common colour-vision deficiency (Okabe-Ito), the key on the
# chart, noenhanced text.

if (!exists("term")) term = "png"
if (!exists("data")) data = "timeline.dat"
if (!exists("nlanes")) nlanes = 2
if (!exists("from_ms")) from_ms = 0
if (!exists("to_ms")) to_ms = 100
if (!exists("title1")) title1 = "GIL timeline"
if (!exists("sub")) sub = ""
if (!exists("title2")) title2 = ""
if (!exists("footer")) footer = ""

eval theme_terminal(term, 22)
set output
set termoption noenhanced
set encoding utf8
set title title1 . (strlen(sub) > 0 ? "\n" . sub : "") . (strlen(title2) > 0 ? "\n" . title2 : "") textcolor rgb fg
set xlabel sprintf("ms since the start of the (first timed) repeat, window %g–%g ms", from_ms, to_ms) textcolor rgb fg
set xrange [from_ms:to_ms]
set yrange [-0.7:nlanes - 0.3]
set ytics scale 0 textcolor rgb fg
set xtics nomirror textcolor rgb fg
set grid xtics lc rgb gridc
set border 1 lc rgb fg
set style fill solid 1.0 noborder
set key at screen 0.5, screen 0.085 center center horizontal maxrows 1 samplen 1.2 width -1 textcolor rgb fg
set bmargin 7
set lmargin 26
set label 2 footer at screen 0.99, screen 0.02 right font sprintf(",%d", pt(14)) tc rgb muted noenhanced

# Lanes top to bottom in worker order.
plot data index 5 using (0):(nlanes - 1 - $1):ytic(2) with points pt -1 notitle, \
     data index 0 using (($2 + $3) / 2):(nlanes - 1 - $1):2:3:(nlanes - 1 - $1 - 0.32):(nlanes - 1 - $1 + 0.32) \
         with boxxyerror lc rgb "#0072B2" title "holding the GIL", \
     data index 1 using (($2 + $3) / 2):(nlanes - 1 - $1):2:3:(nlanes - 1 - $1 - 0.12):(nlanes - 1 - $1 + 0.12) \
         with boxxyerror lc rgb "#E69F00" title "waiting for it", \
     data index 2 using (($2 + $3) / 2):(nlanes - 1 - $1):2:3:(nlanes - 1 - $1 - 0.22):(nlanes - 1 - $1 + 0.22) \
         with boxxyerror lc rgb "#A0A0A0" title "blocked in I/O (released)", \
     data index 3 using (($2 + $3) / 2):(nlanes - 1 - $1):2:3:(nlanes - 1 - $1 - 0.40):(nlanes - 1 - $1 - 0.32) \
         with boxxyerror lc rgb "#CC79A7" title "collecting cycles", \
     data index 4 using 2:(nlanes - 1 - $1 + 0.42) with points pt 11 ps 1.6 lc rgb "#D55E00" \
         title "drop request"
