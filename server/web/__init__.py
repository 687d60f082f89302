"""Pages served by the server: plain HTML and JavaScript, no build step."""
