"""Crawler benchmark: 200 simulated news hosts on loopback, real broker, both transports."""
