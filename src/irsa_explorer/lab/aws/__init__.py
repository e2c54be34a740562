"""The simulated AWS account: moto behind a middleware that adds what moto lacks (`server.AwsLab`)."""
