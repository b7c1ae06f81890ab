"""WeChat Official Account (服务号): callbacks at /wechat/callback, replies through the customer-service API."""
