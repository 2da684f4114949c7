"""The bundled demo network: six member blogs served on 127.0.0.1, and the whole pipeline
(fetch, build, search index, serve) run against them by `python -m demo` (`make demo`).

Nothing here touches the real `content/`, `members.yaml` or `var/`: everything is built under
`demo/build/`.
"""
