"""What more than one test module uses: the desk's helpers (a copied database, agents, the
widget's frames), receives with timeouts, Slack requests and the stand-ins for the APIs the
tests cannot reach (Slack's Web API, OpenAI), and a real server on loopback."""
