from porthook.cli import main

main()
