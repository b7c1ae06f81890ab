"""WhatsApp Cloud API: webhooks at /whatsapp/webhook, messages through the Graph API."""
