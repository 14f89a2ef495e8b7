"""The worker: takes refresh jobs from Redis, asks WhatsApp Web, stores and publishes."""
