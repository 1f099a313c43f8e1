"""C-RASP[periodic, local]: syntax tree, parser, printer, static checks, fragments, interpreter."""
