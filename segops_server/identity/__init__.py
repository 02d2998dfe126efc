"""Identity: aliasing anonymous ids and merging users; every read resolves an id through its edge."""
