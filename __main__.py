from meshspec.deploy import run

run()
