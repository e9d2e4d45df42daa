"""What the tests share: loopback doubles that speak PostHog's and the OpenAI protocol, a
llama-server stand-in, a throwaway Postgres, the real recordings, sample rows, the API stack,
and the one way to run the Temporal dev server and a worker."""
