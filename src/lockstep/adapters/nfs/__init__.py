"""The NFS server that makes shares mountable: NFS-Ganesha, its configuration and its process."""
