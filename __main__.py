from meshspec.adapters.deploy import run

run()
