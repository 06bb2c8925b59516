# plots/theme.gp: the size and theme of a picture, one for every chart of
# results (plots/bars.gp, lines.gp, latency.gp, timeline.gp, memory.gp),
# so that --size and --theme mean the same on each. The build embeds this
# file in the gil-lab binary; gp_theme_prelude (plots/gnuplot.c) puts it in
# front of the chart's script, after the variables below.
#
# Variables: width and height (pixels; a PDF is 100 pixels to the inch,
# as in plots/bars.gp), dark (1: light text on a dark background).
#
# Defines: fg, bg, gridc, muted (colours); scale (1 at 1600x900, the
# smaller of the two sides' ratios, so text keeps its proportion) and
# pt(n), a font size of n points at 1600x900 scaled, at least 8; and
# theme_terminal(term, n), the `set terminal` command for term ('png',
# 'svg' or 'pdf') with a base font of n points, for the script to `eval`
# once term is known (pdfcairo takes points and halves fonts by default:
# fontscale 1 and 0.72 point per pixel keep the PNG's proportions).

if (!exists("width")) width = 1600
if (!exists("height")) height = 900
if (!exists("dark")) dark = 0

fg = dark ? "#e8e8e8" : "#222222"
bg = dark ? "#1e1e1e" : "#ffffff"
gridc = dark ? "#4a4a4a" : "#d0d0d0"
muted = dark ? "#aaaaaa" : "#666666"
scale = height < width * 9 / 16.0 ? height / 900.0 : width / 1600.0
pt(n) = int(n * scale) < 8 ? 8 : int(n * scale)
theme_terminal(t, n) = t eq "svg" ? \
        sprintf("set terminal svg size %d,%d font 'sans,%d' noenhanced background rgb '%s'", width, height, pt(n), bg) : \
    t eq "pdf" ? \
        sprintf("set terminal pdfcairo size %g,%g fontscale 1 font 'sans,%g' noenhanced background rgb '%s'", \
                width / 100.0, height / 100.0, pt(n) * 0.72, bg) : \
        sprintf("set terminal pngcairo size %d,%d font 'sans,%d' noenhanced background rgb '%s'", width, height, pt(n), bg)
