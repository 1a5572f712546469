"""Pure media processing: file type detection, images, audio and zip archives.

No catalog or database knowledge here; every function is blocking (CPU and file I/O), so
callers run them in a thread (``anyio.to_thread.run_sync``) or in a job worker.
"""
