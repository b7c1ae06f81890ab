"""LINE Messaging API: webhooks at /line/webhook, reply with the reply token while fresh, else push."""
