"""CRM connections: what voc knows of HubSpot's and Salesforce's APIs to write results onto a contact."""
