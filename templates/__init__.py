"""Jinja2 templates of repack, installed as the package ``repack.templates``.

deb/<path>.j2 renders debian/<path> (see repack.deb.render).  Users override a template by
putting a file with the same relative path under $XDG_CONFIG_HOME/repack/templates/.
"""
