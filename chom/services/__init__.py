"""Business logic. Services never touch `flask.request`; views and jobs call them."""
