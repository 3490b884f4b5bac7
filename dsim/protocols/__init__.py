"""The protocols of the course; each module registers its scenarios."""
