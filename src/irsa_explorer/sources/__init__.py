"""The data sources: Kubernetes (`kube`), AWS (`aws`), the loader that reads both, and the
live checks inside pods. No Textual here: the TUI and the report use these alike."""
