"""HTTP routes owned by the realtime app."""

urlpatterns: list = []
