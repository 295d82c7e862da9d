from pnc.cli.main import main

main()
