"""Data that crosses the gap outward, and the windows it may cross in."""
