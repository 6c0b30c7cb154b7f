import App

await runVideotube()
