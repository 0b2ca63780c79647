"""The debug console: a live log of what happens to one application, in every process.

registry  which applications have a console open anywhere (in-process, plus Redis)
rows      a notice as a row; the per-application rate budget
forward   notices -> rows -> the hub's reserved console topic of their application
stream    one open console: a hub subscriber read as server-sent events
views     the dashboard's stream and event-creator endpoints (session and membership)
"""
